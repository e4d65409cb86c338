//go:build unix

package backup

import (
	"os"
	"syscall"
)

// lockPartial takes the lock that tells later backups this temporary file
// is being written. The lock goes with the process, however it ends.
func lockPartial(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// abandoned reports whether no process holds f's lock: its backup ended
// without finishing it. The lock taken to find out is released when f is
// closed.
func abandoned(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
