package serve

import (
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// transition handles POST /api/orders/{id}/{action} with {"note": "…"}.
// Acknowledging a gateway's order sends the ack downlink first; a failure
// to send is written into the step's note, and the step is still recorded.
func (a *api) transition(w http.ResponseWriter, r *http.Request, c caller) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "order id: not a number")
		return
	}
	var in struct{ Note string }
	if !readJSON(w, r, &in) {
		return
	}
	if utf8.RuneCountInString(in.Note) > store.MaxNote {
		fail(w, http.StatusBadRequest, "note: too long")
		return
	}
	action := r.PathValue("action")
	o, _, _, err := a.st.Order(r.Context(), id)
	if err == nil {
		_, err = store.Next(o.Status, action)
	}
	if err != nil {
		a.storeError(w, err)
		return
	}
	downlink := ""
	if action == store.ActAcknowledge && o.Origin == store.OriginGateway {
		downlink = "sent"
		if a.ack == nil {
			downlink = "not sent: no MQTT connection"
		} else if err := a.ack(r.Context(), o.Township, o.Gateway, o.TicketID, c.user); err != nil {
			downlink = "not sent: " + err.Error()
		}
		if downlink != "sent" {
			in.Note = truncRunes(in.Note+" [ack downlink "+downlink+"]", store.MaxNote)
		}
	}
	o, err = a.st.Apply(r.Context(), store.Transition{OrderID: id, Action: action, By: c.user, Note: in.Note, At: a.now()})
	if err != nil {
		a.storeError(w, err)
		return
	}
	reply(w, http.StatusOK, map[string]any{"order": o, "downlink": downlink})
}

func truncRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func (a *api) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrTransition):
		fail(w, http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrInput):
		fail(w, http.StatusBadRequest, err.Error())
	default:
		fail(w, http.StatusInternalServerError, err.Error())
	}
}
