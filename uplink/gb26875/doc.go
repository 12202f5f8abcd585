// Package gb26875 is a codec for GB/T 26875.3-2011, the protocol between a
// user information transmission device (用户信息传输装置, here the gateway)
// and a city remote fire monitoring centre (城市消防远程监控中心).
//
// It knows frames (Frame, ParseFrame, Decoder for a TCP byte stream), the
// application data units of the 2011 edition (AppData and its objects), the
// status words and the GB18030 text fields. It knows nothing of tickets, the
// outbox or sockets: the uplink and the reference centre build on it. The
// standard is under revision; a new edition is a new package beside this
// one, not a change to it. docs/gb26875.md describes what fenghuo sends.
//
// Byte order follows the standard's text: every multi-byte integer (serial
// number, addresses, length, status words, analog values) is little-endian.
package gb26875
