package api

import (
	"context"
	"net/http"
	"time"
)

// Endpoint of this file:
//
//	POST /v1/reload  Reload: re-read the config file (fenghuo diag reload)

// Reload is the outcome of one reload attempt (POST /v1/reload, SIGHUP):
// a config with any problem, or with a change the daemon cannot apply
// while it runs, is refused whole and the running one is kept.
type Reload struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"` // sighup | local | remote
	Path   string    `json:"path"`   // the config file read
	// OK: the file was valid and is the running config now (Unchanged:
	// it was the running one already). Not OK: Problems say why, each
	// with its key path; the previous config keeps running.
	OK        bool     `json:"ok"`
	Unchanged bool     `json:"unchanged,omitempty"`
	Problems  []string `json:"problems,omitempty"`
	// ConfigHash is the hash of the config running after the attempt.
	ConfigHash string `json:"config_hash"`
	// What an applied reload did: buses kept polling (not even a
	// reconnect), stopped (changed or removed) and started (changed or
	// new); open tickets carried over to the new rules, and closed because
	// their device or rule is gone.
	BusesKept     []string `json:"buses_kept,omitempty"`
	BusesStopped  []string `json:"buses_stopped,omitempty"`
	BusesStarted  []string `json:"buses_started,omitempty"`
	TicketsKept   int      `json:"tickets_kept,omitempty"`
	TicketsClosed int      `json:"tickets_closed,omitempty"`
	// UplinkMoved: the MQTT connection keys changed (config.LiveMQTTKeys),
	// and the link reconnects with them; UplinkBroker is the broker it
	// connects to now, without credentials.
	UplinkMoved  bool   `json:"uplink_moved,omitempty"`
	UplinkBroker string `json:"uplink_broker,omitempty"`
}

// ConfigStatus is the running config in the status: its hash, when it was
// taken into use, the file it came from and the last reload attempt.
type ConfigStatus struct {
	Hash       string    `json:"hash"`
	LoadedAt   time.Time `json:"loaded_at"`
	Path       string    `json:"path,omitempty"`
	LastReload *Reload   `json:"last_reload,omitempty"`
}

// Reload asks the daemon to re-read its config file. A refused config is
// not an error: the answer says so (OK false) with every problem.
func (c *Client) Reload(ctx context.Context) (Reload, error) {
	var res Reload
	return res, c.do(ctx, http.MethodPost, "/v1/reload", &res)
}

// routeReload adds /v1/reload when its handler is set.
func routeReload(m *http.ServeMux, h Handlers) {
	if h.Reload == nil {
		return
	}
	m.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		res, err := h.Reload(r.Context())
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
}
