package git_test

import (
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/reconciler"
)

// An external test package: the reconciler imports this package (its commit trailers).
var _ reconciler.Repo = git.Tracked{}
