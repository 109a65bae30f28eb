package server

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestSecretsAppearInNoLogAndNoResponse drives every path that logs or answers an error,
// with a debug-level logger, and looks for the API token and the webhook secret in all of it.
func TestSecretsAppearInNoLogAndNoResponse(t *testing.T) {
	logs := &syncBuffer{}
	b := &fakeBackend{err: errors.New("backend exploded")}
	s, err := New(
		WithAPI(b, testToken),
		WithGitHubWebhook([]byte(testSecret), func() {}),
		WithMetrics(NewMetrics()),
		WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	var answers []response
	add := func(r response) { answers = append(answers, r) }

	// API: no token, a wrong token resembling the right one, the token in the wrong scheme,
	// the right token reaching a failing backend, bad bodies.
	add(c.do("POST", "/api/v1/models/m/drift", ""))
	add(c.do("POST", "/api/v1/models/m/drift", "", "Authorization", "Bearer "+testToken[:len(testToken)-1]))
	add(c.do("POST", "/api/v1/models/m/drift", "", "Authorization", "Basic "+testToken))
	add(c.do("POST", "/api/v1/models/m/drift", "", "Authorization", testToken))
	add(c.do("POST", "/api/v1/models/m/drift", "", bearer()...))
	add(c.do("POST", "/api/v1/models/m/retrain", `{"reason":"`+testToken+`", "x":1}`, bearer()...))
	add(c.do("POST", "/api/v1/models/m/candidates", `{"version":"1","uri":"models:/m/1","metrics":{}}`, bearer()...))
	add(c.do("GET", "/api/v1/status", ""))

	// Webhook: refused and accepted deliveries, one carrying the secret in its body.
	body := fmt.Sprintf(`{"ref":"refs/heads/main","note":%q}`, testSecret)
	add(c.do("POST", "/webhooks/github", body, "Content-Type", "application/json", "X-GitHub-Event", "push",
		"X-Hub-Signature-256", sign("wrong", body)))
	add(c.do("POST", "/webhooks/github", body, "Content-Type", "application/json", "X-GitHub-Event", "push",
		"X-Hub-Signature-256", "sha256="+testSecret))
	add(c.do("POST", "/webhooks/github", body, "Content-Type", "application/json", "X-GitHub-Event", "push",
		"X-GitHub-Delivery", "s1", "X-Hub-Signature-256", sign(testSecret, body)))
	add(c.do("GET", "/metrics", ""))

	if !strings.Contains(logs.String(), "api request failed") || !strings.Contains(logs.String(), "github delivery refused") {
		t.Fatalf("the failing paths were not exercised; log:\n%s", logs.String())
	}
	for _, secret := range []string{testToken, testSecret} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains a secret:\n%s", logs.String())
		}
		for i, r := range answers {
			if strings.Contains(string(r.body), secret) {
				t.Errorf("answer %d (%d) contains a secret: %s", i, r.status, r.body)
			}
			for k, v := range r.header {
				if strings.Contains(strings.Join(v, " "), secret) {
					t.Errorf("answer %d header %s contains a secret", i, k)
				}
			}
		}
	}
}
