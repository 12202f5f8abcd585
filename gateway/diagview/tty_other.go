//go:build !linux

package diagview

import "io"

// isTerminal: plain progress lines off Linux.
func isTerminal(io.Writer) bool { return false }
