package statecache

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Build identifies the running build of modelops, or "" when it cannot be told: a cache file
// is only used by the build that wrote it, because another build may parse, default or
// validate the same bytes differently. It is the Go build ID of the executable (a hash of
// everything that went into it), read from its ELF note; on other systems, the executable's
// size and modification time.
var Build = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if id := goBuildID(exe); id != "" {
		return id
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", exe, fi.Size(), fi.ModTime().UnixNano()))
	return "exe-" + hex.EncodeToString(sum[:12])
})

// goBuildID reads the Go build ID from the .note.go.buildid section of an ELF executable:
// a note of name "Go" whose description is the ID. It returns "" when there is none.
func goBuildID(exe string) string {
	f, err := elf.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil {
		return ""
	}
	data, err := s.Data()
	if err != nil || len(data) < 16 {
		return ""
	}
	order := f.ByteOrder
	namesz, descsz := order.Uint32(data[0:]), order.Uint32(data[4:])
	off := 12 + (namesz+3)&^3
	if namesz != 4 || string(data[12:14]) != "Go" || uint64(off)+uint64(descsz) > uint64(len(data)) {
		return ""
	}
	id := string(data[off : off+descsz])
	if id == "" || strings.ContainsAny(id, " \n") {
		return ""
	}
	// The ID has the form actionID/contentID (each part a hash); slashes are kept.
	return id
}
