package outbox

import (
	"fmt"
	"slices"
)

// DefaultUplink is the uplink an outbox opened without a list of uplinks
// delivers to: the MQTT link. Such an outbox has one delivery cursor and
// behaves exactly as before several uplinks existed.
const DefaultUplink = "mqtt"

// Cursors is implemented by outboxes that keep one delivery cursor per
// uplink (DESIGN §6, issue 11): each uplink delivers every event
// at-least-once, in its own Pending order, and one uplink's outage never
// delays another's.
//
// The outbox's own [Outbox] methods are the view of all uplinks together:
// Pending lists the records some configured uplink has not delivered,
// MarkSent marks them delivered for every uplink, and Stats counts a record
// as unsent until every uplink has it. With one uplink (the default) that
// is exactly that uplink's cursor. A record counts as delivered (SentAt set,
// for eviction, Prune, the records floor and the store-wide Stats) only
// once every configured uplink has delivered it.
//
// Uplinks are declared when the outbox is opened. A newly declared uplink
// sees the records appended after it was first declared, not the backlog:
// the backlog was already delivered once by the uplinks that existed, and
// a centre connected for the first time must not receive months of
// history as if it were live. A cursor of an uplink no longer declared is
// removed when the outbox is opened (and logged), so a removed uplink
// never pins records on disk nor raises R25.
type Cursors interface {
	// Uplinks returns the declared uplink names, in declaration order.
	Uplinks() []string
	// Uplink returns the view of one declared uplink: Pending, MarkSent and
	// Stats are that uplink's; Append appends once, for every uplink. An
	// undeclared name is an error.
	Uplink(name string) (Outbox, error)
}

// For returns the view of uplink name of o: o's own view when o has one
// cursor only (it does not implement [Cursors]) and name is
// [DefaultUplink]; an error naming the uplink otherwise.
func For(o Outbox, name string) (Outbox, error) {
	if c, ok := o.(Cursors); ok {
		return c.Uplink(name)
	}
	if name == DefaultUplink {
		return o, nil
	}
	return nil, fmt.Errorf("outbox: uplink %q is not declared (this outbox has one cursor, %q)", name, DefaultUplink)
}

// CheckUplinks validates a list of uplink names: at least one, each
// non-empty, of letters, digits, '_', '-' or '.', at most 64 bytes, no
// duplicates. An empty list means [DefaultUplink].
func CheckUplinks(names []string) ([]string, error) {
	if len(names) == 0 {
		return []string{DefaultUplink}, nil
	}
	for i, n := range names {
		if n == "" || len(n) > 64 {
			return nil, fmt.Errorf("outbox: uplink %d: name %q must be 1..64 bytes", i, n)
		}
		for _, c := range n {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
				return nil, fmt.Errorf("outbox: uplink %d: name %q: only letters, digits, '_', '-' and '.' are allowed", i, n)
			}
		}
		if slices.Contains(names[:i], n) {
			return nil, fmt.Errorf("outbox: uplink %q declared twice", n)
		}
	}
	return slices.Clone(names), nil
}
