package sqlite

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/mattn/go-sqlite3"
)

// OpenError says the outbox at Path cannot be used for a reason that is
// not its content: permission denied, a read-only filesystem, an I/O
// error, a missing directory, a lock held by another process. The file
// is left where it is, untouched, with every unsent event in it; the
// gateway must refuse to start until the cause is fixed (issue 15: a
// permission error moved two unsent fire alarms aside as "corrupt").
type OpenError struct {
	Path   string // the file or directory that refused
	Reason string // e.g. "permission denied", "read-only filesystem"
	Err    error  // the underlying error
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("outbox %s cannot be opened: %s (%v); nothing was moved aside or deleted, unsent events stay in the file: fix the cause and start again", e.Path, e.Reason, e.Err)
}

func (e *OpenError) Unwrap() error { return e.Err }

// refusal wraps an error of opening path (not a corruption) as an
// *OpenError with a reason an operator can act on.
func refusal(path string, err error) error {
	var oe *OpenError
	if errors.As(err, &oe) {
		return err
	}
	return &OpenError{Path: path, Reason: reason(err), Err: err}
}

// reason names the cause of err in words.
func reason(err error) string {
	var errno syscall.Errno
	var se sqlite3.Error
	if errors.As(err, &se) {
		errno = se.SystemErrno
	} else {
		errors.As(err, &errno)
	}
	switch {
	case errno == syscall.EACCES || errno == syscall.EPERM || errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errno == syscall.EROFS:
		return "read-only filesystem"
	case errno == syscall.EIO:
		return "I/O error"
	case errno == syscall.ENOSPC:
		return "disk full"
	case errno == syscall.ENOENT || errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	}
	if se.Code != 0 {
		switch se.Code {
		case sqlite3.ErrPerm, sqlite3.ErrAuth:
			return "permission denied"
		case sqlite3.ErrReadonly:
			return "read-only (file, directory or filesystem)"
		case sqlite3.ErrIoErr:
			return "I/O error"
		case sqlite3.ErrFull:
			return "disk full"
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return "locked by another process"
		case sqlite3.ErrCantOpen:
			return "cannot open the file"
		}
	}
	return "cannot be opened"
}

// preflight checks, before SQLite touches anything, that the directory of
// path exists and is writable and that the database and its WAL files (if
// present) open for reading and writing, so that a permission or
// filesystem problem is reported as such and never taken for corruption
// (SQLite would open an unwritable file read-only and fail later, or fail
// with a bare "unable to open database file").
func preflight(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &OpenError{Path: dir, Reason: "directory missing (create it, owned by the gateway's user)", Err: err}
	case err != nil:
		return &OpenError{Path: dir, Reason: reason(err), Err: err}
	case !fi.IsDir():
		return &OpenError{Path: dir, Reason: "not a directory", Err: syscall.ENOTDIR}
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) && p != path {
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			break // a new outbox: the directory check below covers it
		}
		if err != nil {
			return &OpenError{Path: p, Reason: reason(err), Err: err}
		}
		var b [1]byte
		_, err = f.Read(b[:])
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return &OpenError{Path: p, Reason: reason(err), Err: err}
		}
	}
	// The WAL, its index and the state file are created beside the
	// database: the directory must take new files.
	probe, err := os.CreateTemp(dir, ".outbox-probe-*")
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return nil // a full disk is a storage fault, not a reason to refuse reading
		}
		return &OpenError{Path: dir, Reason: reason(err) + " (the directory must be writable)", Err: err}
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}
