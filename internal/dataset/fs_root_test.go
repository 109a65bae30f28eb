package dataset

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReadFSOpensThroughAnOSRootOnly reads from an os.Root whose directory was renamed since
// it was opened: the root still reaches the file, its path no longer does. Every opening must
// go through the root, which keeps it inside (a path could lead through a link swapped in).
func TestReadFSOpensThroughAnOSRootOnly(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ref.csv"), []byte("age,ward\n61,icu\n47,er\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := os.Rename(dir, filepath.Join(base, "moved")); err != nil {
		t.Fatal(err)
	}
	tab, err := ReadFS(root.FS(), "ref.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if age, ok := tab.Column("age"); !ok || age.Len() != 2 {
		t.Errorf("age = %+v, want 2 rows", age)
	}
}
