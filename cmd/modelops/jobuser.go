package main

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"

	runnerlocal "github.com/medimind/modelops/internal/runner/local"
)

// jobUser reads --job-user: a user name (its primary group), a uid (the same number as
// gid), or uid:gid.
func jobUser(spec string) (runnerlocal.Option, error) {
	uidText, gidText, hasGID := strings.Cut(spec, ":")
	uid, err := strconv.ParseUint(uidText, 10, 32)
	if err != nil {
		if hasGID {
			return nil, fmt.Errorf("--job-user %q: expected a user name, a uid or uid:gid", spec)
		}
		u, lerr := user.Lookup(spec)
		if lerr != nil {
			return nil, fmt.Errorf("--job-user %q: %w", spec, lerr)
		}
		uidText, gidText = u.Uid, u.Gid
		if uid, err = strconv.ParseUint(uidText, 10, 32); err != nil {
			return nil, fmt.Errorf("--job-user %q: uid %q is not a number", spec, u.Uid)
		}
	} else if !hasGID {
		gidText = uidText
	}
	gid, err := strconv.ParseUint(gidText, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("--job-user %q: expected a user name, a uid or uid:gid", spec)
	}
	if uid == 0 {
		return nil, fmt.Errorf("--job-user %q: jobs must not run as root", spec)
	}
	return runnerlocal.WithUser(uint32(uid), uint32(gid)), nil
}
