// Package memtrim releases the pages of the fenghuo binary that only the
// daemon's start needed, once it has started.
//
// On kernels that keep the page cache in large folios (Linux 6.x), a
// fault on the binary maps and reads ahead whole folios, so an idle daemon
// had its entire 21 MB binary resident (RssFile ≈ the file's size) while
// it runs a few megabytes of it. Those pages are clean and reclaimable, but
// they count in RSS, and on a board short of memory the kernel reclaims
// them only to read them back at once with readahead (a 10 000-point
// daemon in a 24 MiB memory cgroup: 509 major faults/s, 5 % of its polls
// made). Trim marks the
// binary's read-only mappings as randomly accessed (MADV_RANDOM: a fault
// reads the page it needs, not a readahead window) and asks the kernel to
// reclaim them (MADV_PAGEOUT, Linux 5.4+): what the running daemon uses
// faults back in within seconds; the code of the config checks, the CLI
// and the station service stays on disk. It never discards data:
// MADV_PAGEOUT only reclaims what can be read back (clean file pages), and
// the writable data segment is not touched.
package memtrim

// Result is what Trim did: the mappings advised and their size.
type Result struct {
	Mappings int
	Bytes    int64
}
