package store

import (
	"fmt"
	"unicode/utf8"
)

// Actions on an order.
const (
	ActAcknowledge = "acknowledge" // 待处置 → 处置中; the service sends the ack downlink
	ActResolve     = "resolve"     // 处置中 → 已处置, with the result in the note
	ActReview      = "review"      // 已处置 → 已复核 (closed)
	ActFalseAlarm  = "false_alarm" // any open status → 误报 (closed)
)

// StatusZh is the Chinese name of an order status.
func StatusZh(status string) string {
	switch status {
	case StatusOpen:
		return "待处置"
	case StatusAssigned:
		return "处置中"
	case StatusResolved:
		return "已处置"
	case StatusReviewed:
		return "已复核"
	case StatusFalseAlarm:
		return "误报"
	}
	return status
}

// Closed reports whether status ends the lifecycle.
func Closed(status string) bool {
	return status == StatusReviewed || status == StatusFalseAlarm
}

// Next is the status after action on an order in status from, or an error
// wrapping ErrTransition that says what is allowed.
func Next(from, action string) (string, error) {
	want := map[string]struct{ from, to string }{
		ActAcknowledge: {StatusOpen, StatusAssigned},
		ActResolve:     {StatusAssigned, StatusResolved},
		ActReview:      {StatusResolved, StatusReviewed},
	}
	if action == ActFalseAlarm {
		if Closed(from) {
			return "", fmt.Errorf("%w: %s: the order is already closed (%s)", ErrTransition, action, StatusZh(from))
		}
		return StatusFalseAlarm, nil
	}
	w, ok := want[action]
	if !ok {
		return "", fmt.Errorf("%w: unknown action %q (acknowledge, resolve, review, false_alarm)", ErrTransition, action)
	}
	if from != w.from {
		return "", fmt.Errorf("%w: %s needs an order in %s %s, this one is %s %s", ErrTransition, action, w.from, StatusZh(w.from), from, StatusZh(from))
	}
	return w.to, nil
}

// checkTransition validates the free text of a transition.
func checkTransition(tr Transition) error {
	switch {
	case tr.By == "" || utf8.RuneCountInString(tr.By) > MaxWho:
		return fmt.Errorf("%w: by: 1..%d characters", ErrInput, MaxWho)
	case utf8.RuneCountInString(tr.Note) > MaxNote:
		return fmt.Errorf("%w: note: at most %d characters, got %d", ErrInput, MaxNote, utf8.RuneCountInString(tr.Note))
	case !utf8.ValidString(tr.By + tr.Note):
		return fmt.Errorf("%w: by/note: not UTF-8", ErrInput)
	case tr.Action == ActResolve && tr.Note == "":
		return fmt.Errorf("%w: note: resolve needs the result (what was done)", ErrInput)
	}
	return nil
}
