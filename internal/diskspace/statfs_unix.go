//go:build linux || darwin || freebsd

package diskspace

import "syscall"

// freeBytes is the space available to an unprivileged process on the file
// system holding path (statfs f_bavail: root's reserve excluded).
func freeBytes(path string) (uint64, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(path, &s); err != nil {
		return 0, err
	}
	return uint64(s.Bavail) * uint64(s.Bsize), nil
}
