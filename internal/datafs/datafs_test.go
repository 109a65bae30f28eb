package datafs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestResolveAgreesWithOSRoot resolves paths through links of every kind on disk and checks
// that Resolve follows exactly the links os.Root follows, to the same file.
func TestResolveAgreesWithOSRoot(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "repo")
	outside := filepath.Join(base, "outside")
	files := map[string]string{
		"data/real/ref.csv":    "ref",
		"data/real/deep/x.csv": "deep",
		"data/inside.csv":      "→ real/ref.csv",
		"data/dot.csv":         "→ ./real//ref.csv",
		"data/slash.csv":       "→ real/ref.csv/",
		"data/dir":             "→ real",
		"data/dirslash":        "→ real/",
		"data/deeplink":        "→ real/deep",
		"data/back.csv":        "→ deeplink/../ref.csv",
		"data/chain.csv":       "→ inside.csv",
		"data/abs.csv":         "→ " + filepath.Join(outside, "creds.csv"),
		"data/absinside.csv":   "→ " + filepath.Join(dir, "data", "real", "ref.csv"),
		"data/escape.csv":      "→ ../../outside/creds.csv",
		"data/escapedir":       "→ ../..",
		"data/comeback.csv":    "→ ../../repo/data/real/ref.csv",
		"data/loop.csv":        "→ loop.csv",
		"data/dangling.csv":    "→ ../../nowhere.csv",
		"data/danglinginside":  "→ absent.csv",
		"data/through.csv":     "→ real/ref.csv/x", // through a file
	}
	for i := 1; i <= 9; i++ {
		next := fmt.Sprintf("n%d.csv", i+1)
		if i == 9 {
			next = "real/ref.csv"
		}
		files[fmt.Sprintf("data/n%d.csv", i)] = "→ " + next
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "creds.csv"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "→ "); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var paths []string
	for name := range files {
		paths = append(paths, name)
	}
	paths = append(paths, "data/dir/ref.csv", "data/dirslash/ref.csv", "data/deeplink/x.csv", "data/escapedir/outside/creds.csv",
		"data/escapedir/repo/data/real/ref.csv", "data/missing.csv", "data/dir/missing.csv")
	for _, name := range paths {
		// os.DirFS follows links onto the host: only Resolve keeps the reading inside.
		real, rerr := Resolve(os.DirFS(dir), name)
		var got string
		if rerr == nil {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(real)))
			if err != nil {
				rerr = err
			}
			got = string(b)
		}
		want, oerr := root.ReadFile(name)
		if (rerr == nil) != (oerr == nil) || got != string(want) {
			t.Errorf("%s: Resolve gives %q (%q, %v), os.Root reads %q, %v", name, real, got, rerr, want, oerr)
		}
		if rerr != nil && errors.Is(oerr, fs.ErrNotExist) != errors.Is(rerr, fs.ErrNotExist) {
			t.Errorf("%s: Resolve fails with %v, os.Root with %v: want both not found, or neither", name, rerr, oerr)
		}
	}
}

func TestFSSaysWhereItLooked(t *testing.T) {
	tree := fstest.MapFS{
		"data/ref.csv":  {Data: []byte("a\n")},
		"data/link.csv": {Data: []byte("ref.csv"), Mode: fs.ModeSymlink},
		"data/up.csv":   {Data: []byte("../../x.csv"), Mode: fs.ModeSymlink},
		"data/abs.csv":  {Data: []byte("/etc/passwd"), Mode: fs.ModeSymlink},
		"data/self.csv": {Data: []byte("self.csv"), Mode: fs.ModeSymlink},
	}
	data := New(tree, "the tree of main at 1a2b3c4", "pass --data-root for untracked files")
	if b, err := fs.ReadFile(data, "data/link.csv"); err != nil || string(b) != "a\n" {
		t.Errorf("read data/link.csv = %q, %v; want the file it links to", b, err)
	}
	for name, want := range map[string]string{
		"data/x.csv":    "data/x.csv: not in the tree of main at 1a2b3c4 (pass --data-root for untracked files)",
		"x/y.csv":       "x/y.csv: not in the tree of main at 1a2b3c4 (pass --data-root for untracked files)",
		"data/up.csv":   "data/up.csv: symbolic link data/up.csv → ../../x.csv leads outside the tree of main at 1a2b3c4",
		"data/abs.csv":  "data/abs.csv: symbolic link data/abs.csv → /etc/passwd is absolute; only relative links that stay inside the tree of main at 1a2b3c4 are followed",
		"data/self.csv": "data/self.csv: more than 8 symbolic links on the way (the last data/self.csv → self.csv): a loop, or too long a chain",
	} {
		for op, read := range map[string]func() error{
			"Open":     func() error { _, err := data.Open(name); return err },
			"ReadFile": func() error { _, err := data.ReadFile(name); return err },
			"Stat":     func() error { _, err := data.Stat(name); return err },
		} {
			if err := read(); err == nil || err.Error() != want {
				t.Errorf("%s(%s) = %v, want %q", op, name, err, want)
			}
		}
	}
}
