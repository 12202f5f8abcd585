package engine

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// CompileRules builds the rule engine of cfg: the effective rules of
// every device, and of the gateway itself (gateway.go). Rules reduced or
// left out for want of a device parameter are logged (nil: discard).
func CompileRules(cfg *config.Config, profiles *profile.Set, log *slog.Logger) (*rules.Engine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sets, err := cfg.DeviceRules(profiles)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	devs := make([]rules.DeviceRules, 0, len(sets)+1)
	for _, s := range sets {
		devs = append(devs, rules.DeviceRules{Device: s.Device, Specs: s.Specs, Points: s.Points, Params: s.Params})
	}
	// config validation keeps devices off the gateway's id (and the engine
	// refuses a duplicate device id).
	devs = append(devs, uplinkRules(rules.GatewayRules(cfg.Gateway.ID), cfg)) // R25 per uplink: uplinks.go
	eng, err := rules.NewEngine(devs)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	for _, n := range eng.Notes() {
		log.Info("rule reduced or left out for want of a device parameter (devices[].params)",
			"device", n.Device, "rule", n.Rule, "compiled", n.Compiled, "missing", strings.Join(n.Missing, ","))
	}
	return eng, nil
}
