package api

import (
	"errors"
	"fmt"
	"io/fs"
)

// Explain turns a client error on socket into what a maintenance worker
// can act on: no daemon (is it running?), or a permission error naming
// the group to join. Other errors pass unchanged.
func Explain(socket string, err error) error {
	switch {
	case errors.Is(err, ErrNoDaemon):
		return fmt.Errorf("no fenghuo daemon on %s: is it running? (systemctl status fenghuo)", socket)
	case errors.Is(err, fs.ErrPermission):
		group := socketGroup(socket)
		return fmt.Errorf("permission denied on %s: the socket is for the %s group (mode 0660); add yourself with `sudo usermod -aG %s $USER` and log in again, or use sudo", socket, group, group)
	}
	return err
}
