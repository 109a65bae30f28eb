package git

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// A fetch from a remote that went away, or that answers with a server error, says the
// remote is unreachable, so callers can tell an outage from a missing branch.
func TestFetchFromAnUnreachableRemoteIsErrUnreachable(t *testing.T) {
	ctx := context.Background()
	var down atomic.Bool
	srv := gitserver.New(t, gitserver.Options{Middleware: []func(http.Handler) http.Handler{
		func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if down.Load() {
					http.Error(w, "maintenance", http.StatusServiceUnavailable)
					return
				}
				next.ServeHTTP(w, r)
			})
		},
	}})
	url := srv.Seed(t, "policies.git", "main", "testdata/policies")
	repo, err := Open(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	if err := repo.Fetch(ctx); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("fetch while the server answers 503 = %v, want ErrUnreachable", err)
	}
	srv.Close()
	if err := repo.Fetch(ctx); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("fetch from a stopped server = %v, want ErrUnreachable", err)
	}
	if _, err := repo.Head(ctx, "main"); err != nil {
		t.Fatalf("the mirror lost main in the outage: %v", err)
	}
}
