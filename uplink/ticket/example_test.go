package ticket_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

func f(v float64) *float64 { return &v }

// sampleEvent is the residual-current alarm of research/domain.md §5(c).
func sampleEvent() (rules.Event, ticket.HazardMeta, ticket.Gateway, ticket.Device) {
	cst := time.FixedZone("CST", 8*3600)
	ev := rules.Event{
		Kind: rules.Open, TicketID: "efd-1f-main/R7/20261129T001502.314", Device: "efd-1f-main", Rule: "R7",
		Hazard: "residual_current_alarm", Level: 2, OccurrenceCount: 1,
		At: time.Date(2026, 11, 29, 8, 15, 2, 314e6, cst),
		Evidence: rules.Evidence{Point: "residual_current", Value: f(356), Unit: "mA", Threshold: f(300),
			Window: "10s/3 samples", ValueAtAlarm: f(352), Snapshot: map[string]*float64{"t1": f(41.2), "t3": nil}},
	}
	info := ticket.HazardMeta{Code: "residual_current_alarm", Zh: "剩余电流报警", En: "Residual current alarm", Kind: "alarm", Category: "electrical"}
	gw := ticket.Gateway{ID: "gw-330502103-yuncun-01", Site: ticket.Site{
		Name: "云村文化礼堂", ClientZh: "云村村民委员会", Address: "湖州市吴兴区织里镇云村", Township: "织里镇",
		TownshipCode: "330502103", AreaCode: "330502103", Community: "云村", Grid: "3", TrackZh: "平安法治"}}
	dev := ticket.Device{ID: "efd-1f-main", Name: "一楼总配电箱电气火灾探测器", Profile: "electrical-fire-1p",
		Vendor: "sim", Model: "efd-1p", CategoryZh: "剩余电流式电气火灾监控探测器", GB26875ComponentType: 17,
		Location: "一层配电间 总配电箱 AL1", Bus: "rs485-1", Slave: 7}
	return ev, info, gw, dev
}

func ExampleTicket() {
	ev, info, gw, dev := sampleEvent()
	t := ticket.FromEvent(ev, info, gw, dev)
	t.EventID = "01JDZ8M6Q4W6S7G1Y7N2T3X4AB" // random in real use
	payload, err := t.Marshal()
	if err != nil {
		panic(err)
	}
	// At publish time the link stamps seq, published_at and buffered.
	published := time.Date(2026, 11, 29, 0, 15, 2, 402e6, time.UTC)
	payload, err = ticket.Stamp(payload, 10452, published, false)
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, payload, "", "  "); err != nil {
		panic(err)
	}
	fmt.Println(out.String())
	// Output:
	// {
	//   "schema": "fenghuo.ticket.v1",
	//   "event_id": "01JDZ8M6Q4W6S7G1Y7N2T3X4AB",
	//   "ticket_id": "gw-330502103-yuncun-01/efd-1f-main/R7/20261129T001502.314",
	//   "seq": 10452,
	//   "state": "open",
	//   "hazard": "residual_current_alarm",
	//   "label": {
	//     "zh": "剩余电流报警",
	//     "en": "Residual current alarm"
	//   },
	//   "category": "electrical",
	//   "kind": "alarm",
	//   "level": 2,
	//   "level_zh": "二级",
	//   "grade_zh": "疑似重大隐患",
	//   "notice_type_zh": "火灾报警信息",
	//   "gbt45839_status": 2,
	//   "rule": "R7",
	//   "occurrence_count": 1,
	//   "occurred_at": "2026-11-29T08:15:02.314+08:00",
	//   "published_at": "2026-11-29T08:15:02.402+08:00",
	//   "buffered": false,
	//   "gateway": {
	//     "id": "gw-330502103-yuncun-01",
	//     "site": {
	//       "name": "云村文化礼堂",
	//       "client_zh": "云村村民委员会",
	//       "address": "湖州市吴兴区织里镇云村",
	//       "township": "织里镇",
	//       "township_code": "330502103",
	//       "area_code": "330502103",
	//       "community": "云村",
	//       "grid": "3",
	//       "track_zh": "平安法治"
	//     }
	//   },
	//   "device": {
	//     "id": "efd-1f-main",
	//     "name": "一楼总配电箱电气火灾探测器",
	//     "profile": "electrical-fire-1p",
	//     "vendor": "sim",
	//     "model": "efd-1p",
	//     "category_zh": "剩余电流式电气火灾监控探测器",
	//     "gb26875_component_type": 17,
	//     "net_type": "00",
	//     "location": "一层配电间 总配电箱 AL1",
	//     "bus": "rs485-1",
	//     "slave": 7
	//   },
	//   "evidence": {
	//     "point": "residual_current",
	//     "value": 356,
	//     "unit": "mA",
	//     "threshold": 300,
	//     "window": "10s/3 samples",
	//     "value_at_alarm": 352,
	//     "snapshot": {
	//       "t1": 41.2,
	//       "t3": null
	//     }
	//   }
	// }
}
