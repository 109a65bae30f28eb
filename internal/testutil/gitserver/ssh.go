package gitserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/gitkit"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSH is an SSH endpoint serving a Server's repositories. Only the client
// key at KeyPath is accepted.
type SSH struct {
	// Addr is the listening host:port on 127.0.0.1.
	Addr string
	// KeyPath is an unencrypted OpenSSH private key the server accepts.
	KeyPath string
	// KnownHostsPath is a known_hosts file holding the server's host key.
	KnownHostsPath string
}

// URL returns the ssh:// URL of the repository name.
func (x *SSH) URL(name string) string {
	return "ssh://git@" + x.Addr + "/" + name
}

// StartSSH serves the Server's repositories over SSH as well, with
// github.com/fluxcd/gitkit (which keeps the git process's stderr on the
// SSH stderr channel, apart from the protocol stream), until the test ends.
func (s *Server) StartSSH(t testing.TB) *SSH {
	t.Helper()
	dir := t.TempDir()
	keyPath, authorized := writeClientKey(t, dir)
	srv := gitkit.NewSSH(gitkit.Config{Dir: s.root, KeyDir: filepath.Join(dir, "host"), Auth: true})
	srv.PublicKeyLookupFunc = func(content string) (*gitkit.PublicKey, error) {
		if strings.TrimSpace(content) != authorized {
			return nil, errors.New("unknown key")
		}
		return &gitkit.PublicKey{Id: "test"}, nil
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatalf("listen ssh: %v", err)
	}
	// Never stopped: gitkit's Stop sets its listener field to nil with no synchronisation
	// with Serve's reads of it, which the race detector reports when a test is short. The
	// listener lives until the test binary exits.
	go srv.Serve() //nolint:errcheck // runs until the test binary exits

	hostPub, err := os.ReadFile(filepath.Join(dir, "host", "gitkit.rsa.pub"))
	if err != nil {
		t.Fatalf("read ssh host key: %v", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(hostPub)
	if err != nil {
		t.Fatalf("parse ssh host key: %v", err)
	}
	known := filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(srv.Address())}, pub) + "\n"
	if err := os.WriteFile(known, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return &SSH{Addr: srv.Address(), KeyPath: keyPath, KnownHostsPath: known}
}

// writeClientKey writes a new ed25519 private key under dir and returns its
// path and its authorized_keys form.
func writeClientKey(t testing.TB, dir string) (string, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
}
