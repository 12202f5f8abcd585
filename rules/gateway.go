package rules

import "time"

// R25 (uplink transmission fault, DESIGN §8.3) is raised by the uplink and
// graded here, on a pseudo-device that stands for the gateway itself: the
// daemon adds [GatewayRules] to the engine and steps it with a
// [TransmissionPoll] on each uplink check. The rule is a plain status rule,
// so an installer can override it (level, confirm) like any other.
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
	StorageRule = "R27"
)

// GatewayRules is the rule set of the gateway pseudo-device id: R25,
// opened on the first poll that reports the fault and cleared on the first
// that reports the link restored and the backlog drained; level 3
// (EN 54-21 5.3 b; GB 26875.1 4.1.1.4). Its ticket is committed to the
// outbox like any other and so reaches the township when the link returns.
//
// R27 (storage_fault, 存储故障) opens while the outbox refuses writes or
// its file is gone ([WithStorage]) and clears once it stores again; level
// 3, a gateway fault (故障信息). Its ticket is published from memory like
// any event of a storage fault.
func GatewayRules(id string) DeviceRules {
	return DeviceRules{Device: id, Points: map[string]string{TransmissionFaultPoint: "", StorageFaultPoint: ""}, Specs: []Spec{{
		ID: TransmissionRule, Hazard: "uplink_transmission_fault", Type: TypeStatus, Level: 3,
		When: []BitCond{{Point: TransmissionFaultPoint, Equals: ptr(1)}},
	}, {
		ID: StorageRule, Hazard: "storage_fault", Type: TypeStatus, Level: 3,
		When: []BitCond{{Point: StorageFaultPoint, Equals: ptr(1)}},
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
