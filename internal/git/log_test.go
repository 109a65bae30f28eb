package git

import (
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

func TestLogBetweenCommitsTouchingPath(t *testing.T) {
	ctx := testCtx(t)
	_, url := seeded(t, gitserver.Options{})
	r := mustOpen(t, url, Options{})
	seed, _ := r.Head(ctx, "main")

	commit := func(msg string, files map[string][]byte, trailers ...Trailer) string {
		t.Helper()
		h, err := r.Commit(ctx, "main", Change{Files: files, Message: msg, Trailers: trailers, Author: bot})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	c1 := commit("step sepsis", map[string][]byte{"models/sepsis-risk.yaml": []byte("w: 25\n")}, Trailer{TrailerAction, "step"})
	c2 := commit("readme", map[string][]byte{"README.md": []byte("r\n")})
	c3 := commit("rollback sepsis", map[string][]byte{"models/sepsis-risk.yaml": []byte("w: 0\n")}, Trailer{TrailerAction, "rollback"})
	c4 := commit("new model", map[string][]byte{"models/new.yaml": []byte("n\n")})

	for _, tc := range []struct {
		name, from, to, path string
		want                 []string
	}{
		{"all since seed", seed, c4, "", []string{c4, c3, c2, c1}},
		{"one file", seed, c4, "models/sepsis-risk.yaml", []string{c3, c1}},
		{"directory", seed, c4, "models", []string{c4, c3, c1}},
		{"window", c1, c3, "", []string{c3, c2}},
		{"whole history, one file", "", c2, "models/sepsis-risk.yaml", []string{c1, seed}},
		{"untouched path", seed, c4, "data", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Log(ctx, tc.from, tc.to, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			var hashes []string
			for _, c := range got {
				hashes = append(hashes, c.Hash)
			}
			if len(hashes) != len(tc.want) {
				t.Fatalf("Log = %v, want %v", hashes, tc.want)
			}
			for i := range hashes {
				if hashes[i] != tc.want[i] {
					t.Fatalf("Log = %v, want %v", hashes, tc.want)
				}
			}
		})
	}
	got, _ := r.Log(ctx, seed, c4, "models/sepsis-risk.yaml")
	if v, _ := TrailerValue(got[0].Trailers, TrailerAction); v != "rollback" {
		t.Fatalf("newest sepsis commit action = %q, want rollback", v)
	}
}
