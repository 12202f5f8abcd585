//go:build !linux

package memtrim

import "errors"

// Trim is Linux only.
func Trim() (Result, error) { return Result{}, errors.New("memtrim: Linux only") }
