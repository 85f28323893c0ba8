package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
)

// The headers of a delivery.
const (
	HeaderEvent     = "X-Switchyard-Event"
	HeaderDelivery  = "X-Switchyard-Delivery"
	HeaderTimestamp = "X-Switchyard-Timestamp"
	HeaderSignature = "X-Switchyard-Signature"
)

// Event is the JSON body of a delivery: one audit event of the project.
type Event struct {
	// ID identifies the event (its audit sequence number); the deliveries
	// of one event to several webhooks share it.
	ID string `json:"id"`
	// Type is the audit action, e.g. "release.advance",
	// "flag.targeting.update".
	Type        string    `json:"type"`
	Time        time.Time `json:"time"`
	Project     string    `json:"project"`
	Environment string    `json:"environment,omitempty"`
	// Resource is the resource's name, e.g. projects/shop/releases/spring.
	Resource string `json:"resource"`
	// Revision is the environment revision the change made; 0 when it
	// changed no environment's state.
	Revision uint64 `json:"revision,omitempty"`
	Actor    Actor  `json:"actor"`
	Data     Data   `json:"data"`
}

// Actor is who made the change.
type Actor struct {
	KeyID string `json:"key_id,omitempty"`
	Name  string `json:"name,omitempty"`
}

// Data is the resource before and after the change, as the audit log
// records it (secrets never included). Truncated is set, and both are
// absent, when they exceed Options.MaxDataBytes.
type Data struct {
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	Truncated bool            `json:"truncated,omitempty"`
}

// eventOf builds the body of an audit event, dropping data beyond
// maxData bytes.
func eventOf(ev domain.AuditEvent, maxData int) ([]byte, error) {
	e := Event{
		ID:          eventID(ev),
		Type:        ev.Action,
		Time:        ev.Time,
		Project:     ev.Project,
		Environment: ev.Environment,
		Resource:    ev.Resource,
		Revision:    ev.Revision,
		Actor:       Actor{KeyID: ev.Actor, Name: ev.ActorName},
		Data:        Data{Before: ev.Before, After: ev.After},
	}
	if len(ev.Before)+len(ev.After) > maxData {
		e.Data = Data{Truncated: true}
	}
	return json.Marshal(e)
}

// Signature returns the X-Switchyard-Signature of a body sent at a Unix
// time: "sha256=" and the hex HMAC-SHA256, keyed by the webhook's secret,
// of the timestamp (decimal seconds, as in X-Switchyard-Timestamp), a dot
// and the body. A receiver recomputes it, compares in constant time and
// refuses timestamps far from its clock (replays).
func Signature(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
