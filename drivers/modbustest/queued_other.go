//go:build !linux

package modbustest

import "errors"

// Queued is implemented on Linux only.
func Queued(path string) (int, error) { return 0, errors.ErrUnsupported }
