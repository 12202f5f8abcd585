package rules

import "time"

// R25 (uplink transmission fault, DESIGN §8.3) is raised by the uplink and
// graded here, on a pseudo-device that stands for the gateway itself: the
// daemon adds [GatewayRules] to the engine and steps it with a
// [TransmissionPoll] on each uplink check. The rule is a plain status rule,
// but it is in no profile and the gateway is no configured device, so the
// config's rules: section cannot override it (docs/rules.md, "R25").
const (
	// TransmissionFaultPoint is the gateway pseudo-device's one point:
	// 1 while the uplink's fault is raised, 0 once the link is restored and
	// the backlog drained.
	TransmissionFaultPoint = "transmission_fault"
	// TransmissionRule is R25's rule id.
	TransmissionRule = "R25"
	// StorageFaultPoint is the gateway's second point: 1 while the outbox
	// refuses writes (for a few seconds) or its file was deleted, 0 once it
	// stores again.
	StorageFaultPoint = "storage_fault"
	// StorageRule is the storage fault's rule id (存储故障, issue 15).
	StorageRule = "R29"
	// ClientIDConflictPoint is 1 while the uplink suspects that another
	// client uses the gateway's MQTT client id (a takeover loop), else 0.
	ClientIDConflictPoint = "client_id_conflict"
	// ClientIDConflictRule is its rule id.
	ClientIDConflictRule = "R28"
)

// GatewayRules is the rule set of the gateway pseudo-device id: R25,
// opened on the first poll that reports the fault and cleared on the first
// that reports the link restored and the backlog drained; level 3
// (EN 54-21 5.3 b; GB 26875.1 4.1.1.4). Its ticket is committed to the
// outbox like any other and so reaches the township when the link returns.
//
// R29 (storage_fault, 存储故障) opens while the outbox refuses writes or
// its file is gone ([WithStorage]) and clears once it stores again; level
// 3, a gateway fault (故障信息). Its ticket is published from memory like
// any event of a storage fault.
func GatewayRules(id string) DeviceRules {
	return DeviceRules{Device: id, Points: map[string]string{TransmissionFaultPoint: "", StorageFaultPoint: "", ClientIDConflictPoint: ""}, Specs: []Spec{{
		ID: TransmissionRule, Hazard: "uplink_transmission_fault", Type: TypeStatus, Level: 3,
		When: []BitCond{{Point: TransmissionFaultPoint, Equals: ptr(1)}},
	}, {
		ID: StorageRule, Hazard: "storage_fault", Type: TypeStatus, Level: 3,
		When: []BitCond{{Point: StorageFaultPoint, Equals: ptr(1)}},
	}, {
		// R28: the uplink saw the broker close its connection right after
		// connecting several times in a minute (another client with the
		// same client id); level 3.
		ID: ClientIDConflictRule, Hazard: "uplink_client_id_conflict", Type: TypeStatus, Level: 3,
		When: []BitCond{{Point: ClientIDConflictPoint, Equals: ptr(1)}},
	}}}
}

// WithStorage adds the storage verdict to a gateway poll: failing while
// the outbox refuses writes, or its file is gone.
func WithStorage(p Poll, failing bool) Poll {
	v := 0.0
	if failing {
		v = 1
	}
	p.Readings = append(p.Readings, Reading{Point: StorageFaultPoint, Value: v})
	return p
}

// ClientIDConflictReading is the gateway pseudo-device's reading of R28.
func ClientIDConflictReading(conflict bool) Reading {
	if conflict {
		return Reading{Point: ClientIDConflictPoint, Value: 1}
	}
	return Reading{Point: ClientIDConflictPoint, Value: 0}
}

// TransmissionPoll is the gateway pseudo-device's poll at at: raised is the
// uplink's verdict (a ticket has waited without PUBACK past its limit),
// backlog the number of records still unsent. A link that works again
// with a backlog still draining reports nothing (missing data: R25 neither
// opens nor clears); R25 clears once the backlog is empty.
func TransmissionPoll(id string, at time.Time, raised bool, backlog int) Poll {
	p := Poll{Device: id, At: at, OK: true}
	switch {
	case raised:
		p.Readings = []Reading{{Point: TransmissionFaultPoint, Value: 1}}
	case backlog == 0:
		p.Readings = []Reading{{Point: TransmissionFaultPoint, Value: 0}}
	}
	return p
}
