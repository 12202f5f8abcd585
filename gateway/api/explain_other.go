//go:build !unix

package api

// socketGroup is the group a user needs to open the socket.
func socketGroup(string) string { return "fenghuo" }
