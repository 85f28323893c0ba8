package calendar

import (
	"strings"
	"testing"
)

func TestVTimezoneDescribesDaylightSaving(t *testing.T) {
	tests := []struct {
		zone string
		want []string
	}{
		{"Europe/Berlin", []string{
			"BEGIN:DAYLIGHT\r\nDTSTART:20300331T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT",
			"BEGIN:STANDARD\r\nDTSTART:20301027T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD",
		}},
		{"America/New_York", []string{
			"DTSTART:20300310T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
			"DTSTART:20301103T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
		}},
		{"Asia/Tokyo", []string{"BEGIN:STANDARD\r\nDTSTART:20300101T000000\r\nTZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nTZNAME:JST\r\nEND:STANDARD"}},
	}
	for _, tc := range tests {
		t.Run(tc.zone, func(t *testing.T) {
			var e encoder
			e.vtimezone(tc.zone, 2030)
			got := e.b.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("vtimezone(%s) =\n%s\nwant it to contain\n%s", tc.zone, got, w)
				}
			}
		})
	}
}

func TestContentLinesAreFoldedAt75Octets(t *testing.T) {
	var e encoder
	e.prop("DESCRIPTION", strings.Repeat("ü", 60))
	for _, l := range strings.Split(strings.TrimSuffix(e.b.String(), "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
	}
}
