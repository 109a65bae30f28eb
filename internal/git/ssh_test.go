package git

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

func TestOpenOverSSHWithKeyAndKnownHosts(t *testing.T) {
	ctx := testCtx(t)
	srv, _ := seeded(t, gitserver.Options{})
	sshd := srv.StartSSH(t)
	auth := Auth{SSHKeyPath: sshd.KeyPath, KnownHostsPath: sshd.KnownHostsPath}

	r := mustOpen(t, sshd.URL(repoName), Options{Auth: auth})
	tip, err := r.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if want := serverRef(t, srv, "refs/heads/main"); tip != want {
		t.Fatalf("Head over ssh = %s, want %s", tip, want)
	}
	h, err := r.Commit(ctx, "main", Change{Files: map[string][]byte{"ssh.txt": []byte("ssh\n")}, Message: "over ssh", Author: bot})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, "main", false); err != nil {
		t.Fatal(err)
	}
	if got := serverRef(t, srv, "refs/heads/main"); got != h {
		t.Fatalf("server main = %s after ssh push, want %s", got, h)
	}

	// A known_hosts entry with another key for the same address: the host
	// key check must refuse the server.
	other := gitserver.New(t, gitserver.Options{}).StartSSH(t)
	knownOther, err := os.ReadFile(other.KnownHostsPath)
	if err != nil {
		t.Fatal(err)
	}
	wrongHosts := filepath.Join(t.TempDir(), "known_hosts")
	line := strings.Replace(string(knownOther), other.Addr[strings.LastIndex(other.Addr, ":")+1:], sshd.Addr[strings.LastIndex(sshd.Addr, ":")+1:], 1)
	if err := os.WriteFile(wrongHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, sshd.URL(repoName), Options{Auth: Auth{SSHKeyPath: sshd.KeyPath, KnownHostsPath: wrongHosts}}); err == nil || !strings.Contains(err.Error(), "key mismatch") {
		t.Fatalf("Open with a mismatched host key: %v, want a host key mismatch", err)
	}
	// The other server's client key is not authorised here.
	_, err = Open(ctx, sshd.URL(repoName), Options{Auth: Auth{SSHKeyPath: other.KeyPath, KnownHostsPath: sshd.KnownHostsPath}})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Open with an unknown client key: %v, want ErrAuth", err)
	}
	if _, err := Open(ctx, sshd.URL(repoName), Options{}); err == nil || !strings.Contains(err.Error(), "--ssh-key") {
		t.Fatalf("Open over ssh without a key: %v, want an error naming --ssh-key", err)
	}
}

// The messages of a misconfigured ssh remote name what to give (the key file, the
// known_hosts file) in the user's terms: no Go field names, no empty or doubled path.
func TestSSHConfigurationErrorsSayWhatToGive(t *testing.T) {
	if _, err := os.Stat("/etc/ssh/ssh_known_hosts"); err == nil {
		t.Skip("/etc/ssh/ssh_known_hosts exists: the host key would be checked against it")
	}
	ctx := testCtx(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_KNOWN_HOSTS", "")
	key := gitserver.New(t, gitserver.Options{}).StartSSH(t).KeyPath
	missing := filepath.Join(home, "missing")
	const url = "ssh://git@127.0.0.1:1/x.git"
	for _, tc := range []struct {
		name, url string
		auth      Auth
		want      string
	}{
		{"no key", url, Auth{}, "needs a private key file (--ssh-key)"},
		{"password in the URL", "ssh://git:pw@127.0.0.1:1/x.git", Auth{SSHKeyPath: key}, "carries a password"},
		{"missing key file", url, Auth{SSHKeyPath: missing}, "read ssh key " + missing + ": no such file or directory"},
		{"missing known_hosts file", url, Auth{SSHKeyPath: key, KnownHostsPath: missing}, "read known_hosts " + missing + ": no such file or directory"},
		{"no known_hosts at all", url, Auth{SSHKeyPath: key}, "no known_hosts file to check the host key against (~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts or $SSH_KNOWN_HOSTS): give one with --known-hosts"},
	} {
		_, err := Open(ctx, tc.url, Options{Auth: tc.auth})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "Auth.") || strings.Contains(msg, "known_hosts :") || strings.Count(msg, missing) > 1 || strings.Contains(msg, "pw") {
			t.Errorf("%s: %q names a Go field, an empty path, a path twice or the password", tc.name, msg)
		}
	}
}
