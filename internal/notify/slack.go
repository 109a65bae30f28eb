package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Slack's Block Kit limits (https://api.slack.com/reference/block-kit/blocks): a header's
// plain text is at most 150 characters, a section's text 3000, a section has at most 10
// fields of at most 2000 characters each. A message over them is rejected with 400, so the
// payload is cut to fit rather than lost.
const (
	slackHeaderMax     = 150
	slackSectionMax    = 3000
	slackFieldsMax     = 10
	slackFieldMax      = 2000
	slackFallbackMax   = 3000
	slackEllipsis      = "…"
	slackContextPrefix = "modelops"
)

// slackText is a Block Kit text object.
type slackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// slackBlock is a header, section or context block.
type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

// slackMessage is an incoming-webhook payload: text is the fallback shown in notifications
// and by clients that cannot render blocks.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

var kindEmoji = map[Kind]string{
	KindRollback:          ":rewind:",
	KindDriftProposal:     ":chart_with_upwards_trend:",
	KindPromotionProposed: ":rocket:",
	KindPromotionMerged:   ":white_check_mark:",
	KindTrainingFailed:    ":x:",
	KindRegistryDrift:     ":warning:",
}

// SlackPayload encodes e as a Slack incoming-webhook message: a fallback text, a header
// with the title, a mrkdwn section with the text and a link to e.URL, a section of fields
// (the model first), and a context line with the kind and time. Event text is escaped, so
// it cannot mention channels or forge links.
func SlackPayload(e Event) ([]byte, error) {
	title := e.Title
	if title == "" {
		title = fmt.Sprintf("%s: %s", e.Kind, e.Model)
	}
	if emoji, ok := kindEmoji[e.Kind]; ok {
		title = emoji + " " + title
	}
	fallback := e.Title
	if fallback == "" {
		fallback = string(e.Kind)
	}
	msg := slackMessage{Text: truncate(slackEscape(fmt.Sprintf("[%s] %s", e.Model, fallback)), slackFallbackMax)}
	msg.Blocks = append(msg.Blocks, slackBlock{
		Type: "header",
		Text: &slackText{Type: "plain_text", Text: truncate(title, slackHeaderMax), Emoji: true},
	})

	link := ""
	if e.URL != "" {
		link = fmt.Sprintf("<%s|Open>", slackLinkURL(e.URL))
	}
	text := truncate(slackEscape(e.Text), slackSectionMax-utf8.RuneCountInString(link)-1)
	switch {
	case text != "" && link != "":
		text += "\n" + link
	case link != "":
		text = link
	}
	if text != "" {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: text}})
	}

	fields := append([]Field{{Name: "Model", Value: e.Model}}, e.Fields...)
	if len(fields) > slackFieldsMax {
		// The last slot says how many were left out rather than losing them silently.
		over := len(fields) - slackFieldsMax + 1
		fields = append(fields[:slackFieldsMax-1:slackFieldsMax-1], Field{Name: "More", Value: fmt.Sprintf("%d more fields not shown", over)})
	}
	var fb slackBlock
	fb.Type = "section"
	for _, f := range fields {
		fb.Fields = append(fb.Fields, slackText{Type: "mrkdwn", Text: truncate(fmt.Sprintf("*%s*\n%s", slackEscape(f.Name), slackEscape(f.Value)), slackFieldMax)})
	}
	msg.Blocks = append(msg.Blocks, fb)

	ctxLine := fmt.Sprintf("%s · %s", slackContextPrefix, e.Kind)
	if !e.At.IsZero() {
		ctxLine += " · " + e.At.UTC().Format(time.RFC3339)
	}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: slackEscape(ctxLine)}}})

	b, err := marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode slack message for %s: %w", e.Model, err)
	}
	return b, nil
}

// slackEscape escapes the three characters Slack reads as markup: without it "<!channel>"
// in a model's text would ping a whole channel.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackLinkURL makes u safe inside <url|label>: '|' and '>' would end the URL early.
func slackLinkURL(u string) string {
	return strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C").Replace(u)
}

// truncate cuts s to at most max characters (runes), marking the cut with an ellipsis. A
// cut never splits an escape such as "&amp;".
func truncate(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	cut := string([]rune(s)[:max-1])
	if amp := strings.LastIndexByte(cut, '&'); amp >= 0 && !strings.Contains(cut[amp:], ";") {
		cut = cut[:amp]
	}
	return cut + slackEllipsis
}
