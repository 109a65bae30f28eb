package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
)

// ForcePrefix is the branch namespace the reconciler owns. Only branches
// under it may be force-pushed or reset; the tracked branch never is.
const ForcePrefix = "modelops/"

// TokenUsername is the basic-auth user paired with a token when Auth has a
// Password but no Username (GitHub's convention for installation tokens).
const TokenUsername = "x-access-token"

const (
	remoteName = "origin"
	// mirrorRefSpec makes every local branch equal to the remote's after a
	// fetch: the store is a mirror of the remote's branches, and commits
	// not yet pushed are dropped, to be re-planned from the new tip.
	mirrorRefSpec = config.RefSpec("+refs/heads/*:refs/heads/*")

	defaultTimeout     = 2 * time.Minute
	defaultMaxAttempts = 5
	defaultBackoff     = 200 * time.Millisecond
	maxBackoff         = 5 * time.Second
)

// Auth holds credentials for a remote. They stay in memory only.
type Auth struct {
	// Username and Password are HTTP(S) basic-auth credentials; put a
	// token in Password. An empty Username with a Password means
	// TokenUsername.
	Username, Password string
	// SSHKeyPath is a private key file for ssh:// and scp-like URLs, with
	// SSHKeyPassphrase if it is encrypted.
	SSHKeyPath, SSHKeyPassphrase string
	// KnownHostsPath is the known_hosts file the SSH host key is checked
	// against; empty means $SSH_KNOWN_HOSTS or ~/.ssh/known_hosts. Host
	// keys are always checked.
	KnownHostsPath string
	// HTTP, when set, authenticates http(s) remotes instead of Username and
	// Password: a method that fetches a fresh token for every request (a
	// GitHub App's installation token, which expires after an hour).
	HTTP transport.AuthMethod
}

// Options configures Open.
type Options struct {
	Auth Auth
	// Dir, for a remote URL, holds a bare mirror that survives restarts;
	// an existing mirror of the same URL is reused. Empty keeps the mirror
	// in memory. Ignored for a local path.
	Dir string
	// Timeout bounds every network call (fetch, push). Default 2m.
	Timeout time.Duration
	// MaxAttempts bounds UpdateBranch's fetch-edit-commit-push attempts.
	// Default 5.
	MaxAttempts int
	// Backoff is UpdateBranch's first delay before a retry; it doubles
	// each attempt up to 5s, with jitter. Default 200ms.
	Backoff time.Duration
	// Now dates the commits whose Signature has no When (default time.Now;
	// the demo's simulated clock).
	Now func() time.Time
}

// Repo is a git repository the reconciler reads and writes. It is safe for
// concurrent use; operations on its object store are serialised.
type Repo struct {
	mu   sync.Mutex // guards repo and every object read from it: go-git's stores and trees are not safe for concurrent use
	repo *gogit.Repository

	url   string // remote URL without credentials; "" for a local repository
	auth  transport.AuthMethod
	local bool
	opts  Options

	// path and packs, for a local repository: where it is, and the pack files its object
	// store was opened with. go-git reads the pack list once, so packs that a person's
	// `git gc` writes later are seen only by re-opening (Fetch does, when the list changes).
	path  string
	packs string
}

// Open opens the repository at location. A local path opens that
// repository in place (bare or not; no remote is involved and Fetch and
// Push do nothing). An http(s), ssh:// or scp-like (git@host:path) URL is
// mirrored into Options.Dir or memory and fetched once; credentials in an
// http(s) URL are moved into memory and stripped from the stored URL.
// file:// URLs are refused: go-git serves them by running the git binary.
// ErrAuth when the remote refuses the credentials.
//
// A local repository's branches are moved with go-git's compare-and-swap,
// which does not take git's ref .lock files: a person committing into the
// same repository at the same instant can race a bot write. Repositories
// that people push to should be opened by URL.
func Open(ctx context.Context, location string, opts Options) (*Repo, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = defaultMaxAttempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = defaultBackoff
	}
	ep, err := transport.NewEndpoint(location)
	if err != nil {
		return nil, fmt.Errorf("open %s: parse location: %w", redact(location), err)
	}
	r := &Repo{opts: opts}
	switch ep.Protocol {
	case "file":
		if strings.HasPrefix(location, "file://") {
			return nil, fmt.Errorf("open %s: file:// URLs are not supported, give the repository's path", location)
		}
		r.local, r.path = true, location
		if err := r.openLocalLocked(); err != nil {
			return nil, err
		}
		return r, nil
	case "http", "https":
		r.url, r.auth, err = httpRemote(location, opts.Auth)
		if opts.Auth.HTTP != nil {
			r.auth = opts.Auth.HTTP
		}
	case "ssh":
		r.url, r.auth, err = sshRemote(location, ep, opts.Auth)
	default:
		err = fmt.Errorf("unsupported protocol %q, expected a path, http(s) or ssh", ep.Protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", redact(location), err)
	}
	if r.repo, err = initMirror(r.url, opts.Dir); err != nil {
		return nil, fmt.Errorf("open %s: %w", r.url, err)
	}
	if err := r.Fetch(ctx); err != nil {
		return nil, fmt.Errorf("open %s: %w", r.url, err)
	}
	return r, nil
}

// httpRemote returns the URL without user info and basic auth built from
// the URL's or a's credentials (a wins).
func httpRemote(location string, a Auth) (string, transport.AuthMethod, error) {
	u, err := url.Parse(location)
	if err != nil {
		return "", nil, fmt.Errorf("parse URL: %w", err)
	}
	user, pass := a.Username, a.Password
	if u.User != nil && user == "" && pass == "" {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	u.User = nil
	if user == "" && pass == "" {
		return u.String(), nil, nil
	}
	if user == "" {
		user = TokenUsername
	}
	return u.String(), &githttp.BasicAuth{Username: user, Password: pass}, nil
}

func sshRemote(location string, ep *transport.Endpoint, a Auth) (string, transport.AuthMethod, error) {
	if ep.Password != "" {
		return "", nil, errors.New("the ssh URL carries a password: give a private key file (--ssh-key) instead")
	}
	if a.SSHKeyPath == "" {
		return "", nil, errors.New("an ssh remote needs a private key file (--ssh-key)")
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	keys, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyPath, a.SSHKeyPassphrase)
	if err != nil {
		return "", nil, fmt.Errorf("read ssh key %s: %w", a.SSHKeyPath, withoutPath(err))
	}
	var files []string
	if a.KnownHostsPath != "" {
		// go-git skips a known_hosts file that does not exist and then blames them all.
		if _, err := os.Stat(a.KnownHostsPath); err != nil {
			return "", nil, fmt.Errorf("read known_hosts %s: %w", a.KnownHostsPath, withoutPath(err))
		}
		files = append(files, a.KnownHostsPath)
	}
	cb, err := gitssh.NewKnownHostsCallback(files...)
	switch {
	case err != nil && a.KnownHostsPath == "":
		return "", nil, errors.New("no known_hosts file to check the host key against (~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts or $SSH_KNOWN_HOSTS): give one with --known-hosts")
	case err != nil:
		return "", nil, fmt.Errorf("read known_hosts %s: %w", a.KnownHostsPath, withoutPath(err))
	}
	keys.HostKeyCallback = cb
	return location, keys, nil
}

// withoutPath returns the cause of a *fs.PathError, for a message that names the file
// itself (not "read ssh key K: open K: no such file or directory").
func withoutPath(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// initMirror opens or creates the bare store for remote url.
func initMirror(url, dir string) (*gogit.Repository, error) {
	remote := &config.RemoteConfig{Name: remoteName, URLs: []string{url}, Fetch: []config.RefSpec{mirrorRefSpec}}
	if dir == "" {
		repo, err := gogit.Init(memory.NewStorage(), nil)
		if err != nil {
			return nil, fmt.Errorf("init in-memory mirror: %w", err)
		}
		if _, err := repo.CreateRemote(remote); err != nil {
			return nil, fmt.Errorf("add remote: %w", err)
		}
		return repo, nil
	}
	repo, err := gogit.PlainOpen(dir)
	if err == nil {
		rem, err := repo.Remote(remoteName)
		if err != nil {
			return nil, fmt.Errorf("reuse mirror %s: %w", dir, err)
		}
		if got := rem.Config().URLs; len(got) != 1 || got[0] != url {
			return nil, fmt.Errorf("reuse mirror %s: it mirrors %v, not %s", dir, got, url)
		}
		return repo, nil
	}
	if !errors.Is(err, gogit.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("open mirror %s: %w", dir, err)
	}
	if repo, err = gogit.PlainInit(dir, true); err != nil {
		return nil, fmt.Errorf("init mirror %s: %w", dir, err)
	}
	if _, err := repo.CreateRemote(remote); err != nil {
		return nil, fmt.Errorf("add remote to mirror %s: %w", dir, err)
	}
	return repo, nil
}

// redact removes a password from an http(s) URL for messages.
func redact(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		// An scp-like SSH location carries no password; a malformed
		// http(s) URL might, so it is not repeated.
		if strings.HasPrefix(location, "http") {
			return "<unparsable URL>"
		}
		return location
	}
	if u.User == nil {
		return location
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// URL returns the remote's URL without credentials, or "" for a local
// repository.
func (r *Repo) URL() string { return r.url }

// Fetch makes every branch of the mirror equal to the remote's, adding and
// removing branches as the remote did. Commits made with Commit or Merge
// and not yet pushed are dropped. Being already up to date is not an
// error. For a local repository it does nothing. Idempotent.
func (r *Repo) Fetch(ctx context.Context) error {
	if r.local {
		r.mu.Lock()
		defer r.mu.Unlock()
		if packList(r.repo) == r.packs {
			return nil
		}
		return r.openLocalLocked()
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.repo.FetchContext(ctx, &gogit.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{mirrorRefSpec},
		Auth:       r.auth,
		Tags:       gogit.NoTags,
		Force:      true,
		Prune:      true,
	})
	switch {
	case err == nil, errors.Is(err, gogit.NoErrAlreadyUpToDate), errors.Is(err, transport.ErrEmptyRemoteRepository):
		return nil
	default:
		return fmt.Errorf("fetch %s: %w", r.url, classifyFetchErr(err))
	}
}

// Head returns the commit at the tip of branch (a short name such as
// "main"), as of the last Fetch or local write. ErrBranchNotFound when it
// does not exist.
func (r *Repo) Head(ctx context.Context, branch string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.headLocked(branch)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func (r *Repo) headLocked(branch string) (plumbing.Hash, error) {
	name, err := branchRef(branch)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	ref, err := r.repo.Reference(name, true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, fmt.Errorf("read branch %s: %w", branch, ErrBranchNotFound)
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read branch %s: %w", branch, err)
	}
	return ref.Hash(), nil
}

// Branches returns the names of all branches, as of the last Fetch.
func (r *Repo) Branches(ctx context.Context) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	iter, err := r.repo.Branches()
	if err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	var out []string
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		out = append(out, ref.Name().Short())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	return out, nil
}

// ResetBranch points branch at commit locally, creating the branch if
// needed, so a proposal branch can be rebuilt from the tracked tip and then
// force-pushed. Only branches under ForcePrefix may be reset; others get
// ErrForceNotAllowed. Idempotent.
func (r *Repo) ResetBranch(ctx context.Context, branch, commit string) error {
	if !strings.HasPrefix(branch, ForcePrefix) {
		return fmt.Errorf("reset %s: %w: only branches under %s may be reset", branch, ErrForceNotAllowed, ForcePrefix)
	}
	name, err := branchRef(branch)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.commitLocked(commit)
	if err != nil {
		return fmt.Errorf("reset %s: %w", branch, err)
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(name, c.Hash)); err != nil {
		return fmt.Errorf("reset %s: %w", branch, err)
	}
	return nil
}

func branchRef(branch string) (plumbing.ReferenceName, error) {
	name := plumbing.NewBranchReferenceName(branch)
	if branch == "" || strings.HasPrefix(branch, "refs/") || name.Validate() != nil {
		return "", fmt.Errorf("branch %q: expected a short branch name such as main or modelops/x/retrain", branch)
	}
	return name, nil
}

// openLocalLocked (re)opens the local repository at r.path and records its pack files.
func (r *Repo) openLocalLocked() error {
	repo, err := gogit.PlainOpenWithOptions(r.path, &gogit.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return localOpenError(r.path, err)
	}
	r.repo, r.packs = repo, packList(repo)
	return nil
}

// localOpenError says what is at path when it is no repository: go-git calls a directory
// without .git one that "does not exist", and a file a failed lstat of file/.git.
func localOpenError(path string, err error) error {
	info, serr := os.Stat(path)
	switch {
	case errors.Is(serr, fs.ErrNotExist):
		return fmt.Errorf("%s: no such directory", path)
	case serr == nil && !info.IsDir():
		return fmt.Errorf("%s is a file, not a git repository", path)
	case errors.Is(err, gogit.ErrRepositoryNotExists):
		return fmt.Errorf("%s is not a git repository", path)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// packList names the pack files of a repository's object store, or "" when it has none or
// is not on disk.
func packList(repo *gogit.Repository) string {
	st, ok := repo.Storer.(*filesystem.Storage)
	if !ok {
		return ""
	}
	entries, err := st.Filesystem().ReadDir("objects/pack")
	if err != nil {
		return ""
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pack") {
			names = append(names, e.Name())
		}
	}
	return strings.Join(names, ",")
}
