package config

import (
	"errors"
	"fmt"
	"os"

	"github.com/fenghuo-iot/fenghuo/uplink/atomicfile"
)

// PreviousSuffix names the copy of the config file a pushed config
// replaced, kept beside it (FILE.previous) until the push is confirmed or
// rolled back.
const PreviousSuffix = ".previous"

// RestoreUnconfirmed puts back the config file a pushed config replaced
// when the gateway stopped (a crash, a power cut) before the push was
// confirmed: an unconfirmed config is never kept. fenghuo run calls it
// before it reads the config; restored says it did.
func RestoreUnconfirmed(path string) (restored bool, err error) {
	prev := path + PreviousSuffix
	if _, err := os.Stat(prev); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err := os.Rename(prev, path); err != nil { // atomic: the old file or the previous one
		return false, fmt.Errorf("restoring the config a pushed one replaced: %w", err)
	}
	return true, nil
}

// ReadFile returns the config file's bytes and permissions.
func ReadFile(path string) ([]byte, os.FileMode, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("the config file: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("the config file: %w", err)
	}
	return data, fi.Mode().Perm(), nil
}

// WriteFile replaces the config file atomically (uplink/atomicfile): a
// power cut leaves the old file or the new one, never half of one.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	if err := atomicfile.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("the config file cannot be written (the service needs write access to it: docs/operations.md): %w", err)
	}
	return nil
}
