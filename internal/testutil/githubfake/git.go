package githubfake

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// zeroSHA is git's "no object" in update-ref's old-value check.
const zeroSHA = "0000000000000000000000000000000000000000"

// identity is the author or committer of a commit the fake writes.
type identity struct{ name, email string }

// githubCommitter commits merges made through the API, as on github.com.
var githubCommitter = identity{"GitHub", "noreply@github.com"}

// runGit runs git in the backing bare repository with an isolated
// configuration, stdin as its input, and returns its stdout.
func (s *Server) runGit(stdin string, author, committer *identity, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = s.GitDir()
	env := append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
	)
	if author != nil {
		env = append(env, "GIT_AUTHOR_NAME="+author.name, "GIT_AUTHOR_EMAIL="+author.email)
	}
	if committer != nil {
		env = append(env, "GIT_COMMITTER_NAME="+committer.name, "GIT_COMMITTER_EMAIL="+committer.email)
	}
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(errOut.Bytes()))
	}
	return out.String(), nil
}

func (s *Server) git1(args ...string) (string, error) {
	out, err := s.runGit("", nil, nil, args...)
	return strings.TrimSpace(out), err
}

// exitCode returns the exit status of a failed git command, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// commitOf resolves a branch name, full ref or (abbreviated) SHA to a commit.
func (s *Server) commitOf(rev string) (string, error) {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return "", errNoCommit
	}
	// git's own lookup order (a full SHA, then refs/<rev>, refs/tags/<rev>,
	// refs/heads/<rev>, ...) resolves what GitHub accepts as a ref.
	out, err := s.git1("rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil || len(out) != 40 {
		return "", errNoCommit
	}
	return out, nil
}

// refSHA returns the object a full ref points at, or "" when it does not
// exist.
func (s *Server) refSHA(ref string) string {
	out, err := s.git1("rev-parse", "--verify", "--quiet", ref)
	if err != nil {
		return ""
	}
	return out
}

// refEntry is one ref and the object it points at.
type refEntry struct{ ref, sha, typ string }

// listRefs lists the refs under prefix (such as "refs/heads/") in order.
func (s *Server) listRefs(prefix string) ([]refEntry, error) {
	out, err := s.git1("for-each-ref", "--format=%(refname) %(objectname) %(objecttype)", prefix)
	if err != nil {
		return nil, err
	}
	var refs []refEntry
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			refs = append(refs, refEntry{f[0], f[1], f[2]})
		}
	}
	return refs, nil
}

// updateRef moves ref from old ("" for "must not exist") to sha under
// git's own lock, as receive-pack does.
func (s *Server) updateRef(ref, sha, old, reason string) error {
	if old == "" {
		old = zeroSHA
	}
	_, err := s.git1("update-ref", "-m", reason, ref, sha, old)
	return err
}

func (s *Server) deleteRef(ref, old string) error {
	_, err := s.git1("update-ref", "-d", ref, old)
	return err
}

// isAncestor reports whether commit a is an ancestor of (or equal to) b.
func (s *Server) isAncestor(a, b string) (bool, error) {
	_, err := s.git1("merge-base", "--is-ancestor", a, b)
	if err == nil {
		return true, nil
	}
	if exitCode(err) == 1 {
		return false, nil
	}
	return false, err
}

// mergeTree merges head into base without a work tree and returns the
// resulting tree, or ok=false when they conflict.
func (s *Server) mergeTree(base, head string) (tree string, ok bool, err error) {
	out, err := s.git1("merge-tree", "--write-tree", "--no-messages", base, head)
	if err != nil {
		if exitCode(err) == 1 {
			return "", false, nil
		}
		return "", false, err
	}
	tree, _, _ = strings.Cut(out, "\n")
	return tree, true, nil
}

// commitTree writes a commit of tree with parents and message.
func (s *Server) commitTree(tree string, parents []string, message string, author identity) (string, error) {
	args := []string{"commit-tree", tree}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	args = append(args, "-F", "-")
	out, err := s.runGit(message, &author, &githubCommitter, args...)
	return strings.TrimSpace(out), err
}

// diffStats counts the commits of head not in base, and the lines and files
// the three-dot diff changes, like a pull request's figures.
func (s *Server) diffStats(base, head string) (commits, additions, deletions, files int) {
	if out, err := s.git1("rev-list", "--count", base+".."+head); err == nil {
		commits, _ = strconv.Atoi(out)
	}
	out, err := s.git1("diff", "--numstat", base+"..."+head)
	if err != nil {
		return commits, 0, 0, 0
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		files++
		a, _ := strconv.Atoi(f[0]) // "-" for a binary file counts 0
		d, _ := strconv.Atoi(f[1])
		additions += a
		deletions += d
	}
	return commits, additions, deletions, files
}

// treeEntry is one entry of git ls-tree -l.
type treeEntry struct {
	mode, typ, sha string
	size           int
	path           string
}

// lsTree lists the entries of commit at path: the entry itself, or with
// children, the entries inside the directory path.
func (s *Server) lsTree(commit, p string, children bool) ([]treeEntry, error) {
	arg := p
	if children {
		arg = strings.TrimSuffix(p, "/") + "/"
	}
	args := []string{"ls-tree", "-l", "--full-tree", commit}
	if arg != "/" {
		args = append(args, "--", arg)
	}
	out, err := s.git1(args...)
	if err != nil {
		return nil, err
	}
	var entries []treeEntry
	for _, line := range strings.Split(out, "\n") {
		head, name, ok := strings.Cut(line, "\t")
		f := strings.Fields(head)
		if !ok || len(f) != 4 {
			continue
		}
		size, _ := strconv.Atoi(f[3]) // "-" for a tree
		entries = append(entries, treeEntry{mode: f[0], typ: f[1], sha: f[2], size: size, path: name})
	}
	return entries, nil
}

func (s *Server) catBlob(sha string) ([]byte, error) {
	out, err := s.runGit("", nil, nil, "cat-file", "blob", sha)
	return []byte(out), err
}
