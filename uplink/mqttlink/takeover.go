package mqttlink

import (
	"errors"
	"io"
	"syscall"
	"time"
)

// Client id takeover: when a second client connects with the gateway's
// client id (a cloned gateway, a copied config), the broker closes the
// older connection; both reconnect and kick each other off every second or
// two, and each sees only an ordinary connection loss. The link counts
// the losses where the broker closed a connection (EOF or reset) within
// kickUptime of its CONNACK; kickCount of them within kickWindow raise the
// conflict, logged at ERROR and reported by ClientIDConflict (the daemon
// makes it a gateway fault ticket). It clears once a connection has stayed
// up for kickWindow.
const (
	kickUptime = 10 * time.Second
	kickWindow = time.Minute
	kickCount  = 3
)

// noteLoss records a connection, up since connAt (CONNACK), lost at now
// with err (paho's connection lost handler).
func (l *Link) noteLoss(connAt, now time.Time, err error) {
	if now.Sub(connAt) >= kickUptime || !closedByBroker(err) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	kicks := l.kicks[:0]
	for _, t := range l.kicks {
		if now.Sub(t) < kickWindow {
			kicks = append(kicks, t)
		}
	}
	l.kicks = append(kicks, now)
	if len(l.kicks) < kickCount || l.conflict {
		return
	}
	l.conflict = true
	l.conflicts++
	l.log.Error("uplink: CLIENT ID CONFLICT: the broker closed the connection right after connecting several times in a minute; "+
		"another client is using this gateway's client id (a cloned gateway or a copied config?): give each gateway its own client_id",
		"client_id", l.endpoint().o.ClientID, "broker", l.Broker(), "closes", len(l.kicks), "within", kickWindow)
}

// closedByBroker: the broker ended the connection (as on a takeover).
func closedByBroker(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// ClientIDConflict reports whether a client id takeover loop is
// suspected. It clears once a connection has stayed up for a minute.
func (l *Link) ClientIDConflict() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conflict && l.connected && time.Since(l.connectedSince) >= kickWindow {
		l.conflict = false
		l.kicks = l.kicks[:0]
		l.log.Info("uplink: client id conflict cleared: the connection has stayed up for a minute", "client_id", l.endpoint().o.ClientID)
	}
	return l.conflict
}

// ClientIDConflicts counts the conflicts raised since the link was created.
func (l *Link) ClientIDConflicts() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conflicts
}
