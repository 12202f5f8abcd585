package transport

import "errors"

// ErrPortLocked says the serial port is held by another process (most
// likely a running fenghuo daemon): opening it would put a second master
// on the line. The error that wraps it names the port and, when Linux
// tells, the holder's pid and command line.
//
// An rtu transport takes an exclusive flock(2) on the tty as it opens it
// and keeps it while the port is open; the lock goes with the descriptor,
// so a crashed process leaves none behind. flock and not TIOCEXCL: root
// (the tests, many gateways) opens a TIOCEXCL tty anyway, and pyserial's
// exclusive=True takes the same flock, so other tools respect it too.
var ErrPortLocked = errors.New("serial port in use by another master")
