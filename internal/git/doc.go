// Package git is the reconciler's access to the policy repository, built on
// go-git alone: the product never runs the git binary.
//
// A Repo is either a local repository opened in place or a bare mirror of a
// remote (HTTP(S) with basic or token auth, SSH with a key and known_hosts)
// kept in memory or in a cache directory. Nothing is ever checked out: trees
// are read at commits through an fs.FS, and commits are built by writing
// blob and tree objects on top of the parent's tree.
//
// Writes follow the product's "nothing is lost" rule. Pushes use full
// refspecs (refs/heads/x:refs/heads/x); only branches under modelops/ may be
// force-pushed; UpdateBranch re-applies an edit on the newest tip and
// retries a rejected push with bounded, jittered backoff. Callers branch on
// the sentinels ErrNoChange, ErrNonFastForward, ErrConflict,
// ErrBranchNotFound, ErrForceNotAllowed and ErrAuth with errors.Is.
//
// Credentials live only in memory: they are never written into a remote URL
// stored on disk, logged, or put into an error message.
package git
