//go:build !(linux || darwin || freebsd)

package diskspace

import "errors"

func freeBytes(string) (uint64, error) {
	return 0, errors.New("free disk space is not measured on this system")
}
