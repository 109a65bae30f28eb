package git

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

func TestOpenOverSSHWithKeyAndKnownHosts(t *testing.T) {
	ctx := testCtx(t)
	srv, _ := seeded(t, gitserver.Options{})
	sshd := srv.StartSSH(t)
	auth := Auth{SSHKeyPath: sshd.KeyPath, KnownHostsPath: sshd.KnownHostsPath}

	r := mustOpen(t, sshd.URL(repoName), Options{Auth: auth})
	tip, err := r.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if want := serverRef(t, srv, "refs/heads/main"); tip != want {
		t.Fatalf("Head over ssh = %s, want %s", tip, want)
	}
	h, err := r.Commit(ctx, "main", Change{Files: map[string][]byte{"ssh.txt": []byte("ssh\n")}, Message: "over ssh", Author: bot})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, "main", false); err != nil {
		t.Fatal(err)
	}
	if got := serverRef(t, srv, "refs/heads/main"); got != h {
		t.Fatalf("server main = %s after ssh push, want %s", got, h)
	}

	// A known_hosts entry with another key for the same address: the host
	// key check must refuse the server.
	other := gitserver.New(t, gitserver.Options{}).StartSSH(t)
	knownOther, err := os.ReadFile(other.KnownHostsPath)
	if err != nil {
		t.Fatal(err)
	}
	wrongHosts := filepath.Join(t.TempDir(), "known_hosts")
	line := strings.Replace(string(knownOther), other.Addr[strings.LastIndex(other.Addr, ":")+1:], sshd.Addr[strings.LastIndex(sshd.Addr, ":")+1:], 1)
	if err := os.WriteFile(wrongHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, sshd.URL(repoName), Options{Auth: Auth{SSHKeyPath: sshd.KeyPath, KnownHostsPath: wrongHosts}}); err == nil || !strings.Contains(err.Error(), "key mismatch") {
		t.Fatalf("Open with a mismatched host key: %v, want a host key mismatch", err)
	}
	// The other server's client key is not authorised here.
	_, err = Open(ctx, sshd.URL(repoName), Options{Auth: Auth{SSHKeyPath: other.KeyPath, KnownHostsPath: sshd.KnownHostsPath}})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Open with an unknown client key: %v, want ErrAuth", err)
	}
	if _, err := Open(ctx, sshd.URL(repoName), Options{}); err == nil || !strings.Contains(err.Error(), "SSHKeyPath") {
		t.Fatalf("Open over ssh without a key: %v, want an error naming SSHKeyPath", err)
	}
}
