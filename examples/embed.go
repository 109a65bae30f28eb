package examples

import (
	"embed"
	"io/fs"
)

// files holds policy-repo/ with its dot files (.modelopsignore), hence "all:".
//
//go:embed all:policy-repo
var files embed.FS

// PolicyRepo returns the example policy repository as a read-only file system whose root is
// the repository's root (README.md, models/, notes/, .modelopsignore, ...).
func PolicyRepo() fs.FS {
	sub, err := fs.Sub(files, "policy-repo")
	if err != nil {
		// fs.Sub fails only for an invalid path name, and this one is a constant.
		panic("examples: " + err.Error())
	}
	return sub
}
