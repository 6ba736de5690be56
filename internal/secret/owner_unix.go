//go:build unix

package secret

import (
	"io/fs"
	"syscall"
)

// fileOwner is the file's owning user id, when the platform tells.
func fileOwner(fi fs.FileInfo) (int, bool) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), true
	}
	return 0, false
}
