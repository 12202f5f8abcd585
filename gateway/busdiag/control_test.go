package busdiag

import (
	"errors"
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// An arc-fault detector has reset and mute but no self-test: refused
// before any bus work, naming what it has.
func TestCheckControlNamesTheActions(t *testing.T) {
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := profiles.Get("arc-fault-1p")
	err = CheckControl(config.Device{ID: "arc-1"}, p, "self-test")
	var re *api.RejectedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), `device arc-1: profile arc-fault-1p has no "self-test" command (it has: mute, reset)`) {
		t.Fatalf("got %v", err)
	}
}
