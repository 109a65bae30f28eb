package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	forgelocal "github.com/medimind/modelops/internal/forge/local"
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

type proposalsOptions struct {
	repoOptions
	output string
	all    bool
	by     string
	email  string
	reason string
	stdout io.Writer
	// width is the terminal's width when stdout is one (show renders Markdown there), else 0.
	width int
}

func newProposalsCmd() *cobra.Command {
	opts := &proposalsOptions{}
	cmd := &cobra.Command{
		Use:   "proposals list|show|merge|close",
		Short: "Review proposals on the embedded default (local branches)",
		Long: `On the embedded default a proposal is a branch modelops/<model>/<kind> with the proposed
policy edit, and a record on the status branch. These commands let a person review them as a
pull request: list, show (the body and the diff), merge (a merge commit on the tracked branch,
authored by you) and close (decline).

A proposal is named <model>/<kind>, e.g. sepsis-risk/retrain.`,
	}
	// The embedded forge only: no --github, runner or router flags.
	opts.bindRepoFlags(cmd.PersistentFlags())
	cmd.PersistentFlags().StringVarP(&opts.output, "output", "o", "table", "output format: table or json (show: also markdown, the body as written)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List open proposals (--all: every proposal)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runProposalsList(cmd.Context(), opts)
		},
	}
	list.Flags().BoolVar(&opts.all, "all", false, "include merged and closed proposals")

	show := &cobra.Command{
		Use:   "show MODEL/KIND",
		Short: "Show a proposal: record, body and diff",
		Long: `show prints a proposal's record, its body and the change it proposes. On a terminal the
body's Markdown is rendered; -o markdown (or output to a file or a pipe) keeps it as written.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdout = cmd.OutOrStdout()
			opts.width, _ = terminalWidth(opts.stdout)
			return runProposalsShow(cmd.Context(), opts, args[0])
		},
	}
	merge := &cobra.Command{
		Use:   "merge MODEL/KIND",
		Short: "Merge a proposal into the tracked branch, as a reviewer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runProposalsMerge(cmd.Context(), opts, args[0])
		},
	}
	closeCmd := &cobra.Command{
		Use:   "close MODEL/KIND --reason TEXT",
		Short: "Decline a proposal; modelops does not propose the same change again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runProposalsClose(cmd.Context(), opts, args[0])
		},
	}
	for _, c := range []*cobra.Command{merge, closeCmd} {
		c.Flags().StringVar(&opts.by, "by", "", "reviewer name (default: $GIT_AUTHOR_NAME or the user name)")
		c.Flags().StringVar(&opts.email, "email", "", "reviewer email (default: $GIT_AUTHOR_EMAIL)")
		opts.bindAuthorFlags(c.Flags()) // the record's update on the status branch
	}
	closeCmd.Flags().StringVar(&opts.reason, "reason", "", "why the proposal is declined (required)")
	cmd.AddCommand(list, show, merge, closeCmd)
	return cmd
}

func openForge(ctx context.Context, opts *proposalsOptions) (*stack, error) {
	return openStack(ctx, &opts.repoOptions, newLogger(slog.LevelWarn))
}

func runProposalsList(ctx context.Context, opts *proposalsOptions) error {
	s, err := openForge(ctx, opts)
	if err != nil {
		return err
	}
	recs, err := s.forge.Records(ctx)
	if err != nil {
		return err
	}
	shown := []forgelocal.Record{}
	for _, r := range recs {
		if opts.all || r.State == forgelocal.StateOpen {
			shown = append(shown, r)
		}
	}
	if opts.output == "json" {
		return writeJSON(opts.stdout, shown)
	}
	if len(shown) == 0 {
		fmt.Fprintln(opts.stdout, "No open proposals.")
		return nil
	}
	tw := tabwriter.NewWriter(opts.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROPOSAL\tSTATE\tUPDATED\tTITLE")
	for _, r := range shown {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID(), r.State, r.Updated.UTC().Format(time.RFC3339), r.Title)
	}
	return tw.Flush()
}

func runProposalsShow(ctx context.Context, opts *proposalsOptions, id string) error {
	if opts.output != "table" && opts.output != "json" && opts.output != "markdown" {
		return invalidInput(fmt.Errorf("--output %q: want table, json or markdown", opts.output))
	}
	s, err := openForge(ctx, opts)
	if err != nil {
		return err
	}
	rec, err := s.forge.Get(ctx, id)
	if errors.Is(err, forgelocal.ErrNotFound) {
		return invalidInput(err)
	}
	if err != nil {
		return err
	}
	if opts.output == "json" {
		return writeJSON(opts.stdout, rec)
	}
	fmt.Fprintf(opts.stdout, "%s  [%s]\n%s\nbranch %s (head %s, base %s)\n\n", rec.ID(), rec.State, rec.Title, rec.Branch, short(rec.Head), short(rec.Base))
	body := rec.Body
	if opts.width > 0 && opts.output != "markdown" {
		if rendered, err := renderMarkdown(body, opts.width); err == nil {
			body = rendered
		}
	}
	fmt.Fprintln(opts.stdout, body)
	if diff, err := fileDiff(ctx, s.repo, rec); err == nil && diff != "" {
		fmt.Fprintf(opts.stdout, "\nChange to %s:\n%s", rec.File, diff)
	}
	for _, c := range rec.Comments {
		fmt.Fprintf(opts.stdout, "\n%s %s: %s", c.At.UTC().Format(time.RFC3339), c.By, c.Text)
	}
	fmt.Fprintln(opts.stdout)
	return nil
}

// fileDiff shows the lines of the policy file the proposal changes, as -/+ pairs.
func fileDiff(ctx context.Context, repo *git.Repo, rec forgelocal.Record) (string, error) {
	before, err := repo.ReadFile(ctx, rec.Base, rec.File)
	if err != nil {
		return "", err
	}
	after, err := repo.ReadFile(ctx, rec.Head, rec.File)
	if err != nil {
		return "", err
	}
	return lineDiff(string(before), string(after)), nil
}

// lineDiff is a minimal diff for minimal edits: the common head and tail are skipped and
// the differing middle is printed with its line numbers.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	i := 0
	for i < len(al) && i < len(bl) && al[i] == bl[i] {
		i++
	}
	j := 0
	for j < len(al)-i && j < len(bl)-i && al[len(al)-1-j] == bl[len(bl)-1-j] {
		j++
	}
	var sb strings.Builder
	for k := i; k < len(al)-j; k++ {
		fmt.Fprintf(&sb, "%4d - %s\n", k+1, al[k])
	}
	for k := i; k < len(bl)-j; k++ {
		fmt.Fprintf(&sb, "%4d + %s\n", k+1, bl[k])
	}
	return sb.String()
}

func reviewer(opts *proposalsOptions) git.Signature {
	name, email := opts.by, opts.email
	if name == "" {
		name = os.Getenv("GIT_AUTHOR_NAME")
	}
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if email == "" {
		email = os.Getenv("GIT_AUTHOR_EMAIL")
	}
	if email == "" {
		email = name + "@localhost"
	}
	return git.Signature{Name: name, Email: email}
}

// checkReviewer refuses a --by, --email or --reason that would put control characters into
// a commit.
func checkReviewer(opts *proposalsOptions) error {
	if err := errors.Join(git.CheckLine("--by", opts.by), git.CheckLine("--email", opts.email), git.CheckText("--reason", opts.reason)); err != nil {
		return invalidInput(err)
	}
	return nil
}

func runProposalsMerge(ctx context.Context, opts *proposalsOptions, id string) error {
	if err := checkReviewer(opts); err != nil {
		return err
	}
	s, err := openForge(ctx, opts)
	if err != nil {
		return err
	}
	merge, err := s.forge.Merge(ctx, id, reviewer(opts))
	if errors.Is(err, forgelocal.ErrNotFound) {
		return invalidInput(err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "Merged %s into %s as %s.\n", id, opts.branch, short(merge))
	return nil
}

func runProposalsClose(ctx context.Context, opts *proposalsOptions, id string) error {
	if strings.TrimSpace(opts.reason) == "" {
		return invalidInput(errors.New("--reason is required: say why the proposal is declined"))
	}
	if err := checkReviewer(opts); err != nil {
		return err
	}
	s, err := openForge(ctx, opts)
	if err != nil {
		return err
	}
	if _, err := s.forge.Get(ctx, id); err != nil {
		if errors.Is(err, forgelocal.ErrNotFound) {
			return invalidInput(err)
		}
		return err
	}
	if err := s.forge.Decline(ctx, id, reviewer(opts).Name, opts.reason); err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "Closed %s.\n", id)
	return nil
}

type retrainOptions struct {
	repoOptions
	reason string
	by     string
	stdout io.Writer
}

// bindRequestFlags binds the repository flags and the request's --reason (required) and
// --by, which retrain and adopt share.
func (o *retrainOptions) bindRequestFlags(fs *pflag.FlagSet, reasonHelp, byHelp string) {
	o.bindFlags(fs)
	fs.StringVar(&o.reason, "reason", "", reasonHelp)
	fs.StringVar(&o.by, "by", "", byHelp)
}

// checkRequest refuses a request without a reason, and control characters in the reason
// and the name: both go into commits on the status branch and into proposals.
func (o *retrainOptions) checkRequest() error {
	if strings.TrimSpace(o.reason) == "" {
		return invalidInput(errors.New("--reason is required"))
	}
	if err := errors.Join(git.CheckText("--reason", o.reason), git.CheckLine("--by", o.by)); err != nil {
		return invalidInput(err)
	}
	return nil
}

func newRetrainCmd() *cobra.Command {
	opts := retrainOptions{}
	cmd := &cobra.Command{
		Use:   "retrain MODEL --reason TEXT --repo PATH|URL",
		Short: "Ask for a retrain: records the request and opens the retrain proposal",
		Long: `retrain records a manual retrain request for MODEL on the status branch and runs one
reconcile cycle, which opens (or updates) the retrain proposal with the request as evidence.
Merging the proposal launches training, as for every other trigger.

Exit status: 0 success, 1 failure, 2 unknown model or missing reason.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runRetrain(cmd.Context(), opts, args[0])
		},
	}
	opts.bindRequestFlags(cmd.Flags(), "why the model must be retrained (required; it goes into the proposal)", "who asks (default: the user name)")
	return cmd
}

// submitRequest records a person's request about model on the status branch and runs one
// cycle, which acts on it. decide reads the model at the tip and fills in the request (or
// refuses it); who asked and when are filled in here.
func (o retrainOptions) submitRequest(ctx context.Context, model string, decide func(*reconciler.Snapshot, *policies.Policy, *reconciler.ManualRequest) error) (*stack, *reconciler.CycleResult, error) {
	if err := o.checkRequest(); err != nil {
		return nil, nil, err
	}
	s, err := openStack(ctx, &o.repoOptions, newLogger(slog.LevelWarn))
	if err != nil {
		return nil, nil, err
	}
	snap, _, err := s.reconciler.Plan(ctx)
	if err != nil {
		return nil, nil, err
	}
	policy, err := snap.ModelPolicy(model)
	if err != nil {
		return nil, nil, invalidInput(err)
	}
	req := reconciler.ManualRequest{At: time.Now().UTC(), Reason: o.reason, By: o.by}
	if req.By == "" {
		req.By = reviewer(&proposalsOptions{}).Name // $GIT_AUTHOR_NAME or the user name
	}
	if err := decide(snap, policy, &req); err != nil {
		return nil, nil, invalidInput(err)
	}
	if err := s.status.AddRequest(ctx, model, req); err != nil {
		return nil, nil, err
	}
	res, err := s.reconciler.Cycle(ctx)
	return s, res, err
}

func runRetrain(ctx context.Context, opts retrainOptions, model string) error {
	s, res, err := opts.submitRequest(ctx, model, func(_ *reconciler.Snapshot, p *policies.Policy, _ *reconciler.ManualRequest) error {
		if p.Spec.Retrain == nil {
			return fmt.Errorf("model %s has no spec.retrain: nothing to retrain", model)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range res.Actions {
		if a.Action.Model == model && a.Action.Kind == reconciler.ActionProposeRetrain {
			if a.Error != "" {
				return fmt.Errorf("open the retrain proposal: %s", a.Error)
			}
			// The detail names the proposal already ("retrain proposal <branch or URL>").
			fmt.Fprintf(opts.stdout, "Retrain of %s requested: %s\n", model, a.Detail)
			if s.github == nil {
				fmt.Fprintf(opts.stdout, "Review it: modelops proposals show %s/retrain --repo %s\n", model, opts.repo)
			}
			return nil
		}
	}
	for _, a := range res.Actions {
		if a.Action.Model == model && a.Action.Kind == reconciler.ActionLaunchTraining && a.Error == "" {
			// The request decided an undecided generation: it is trained as it stands.
			fmt.Fprintf(opts.stdout, "Retrain of %s requested; generation %d launched: %s\n", model, a.Action.Generation, a.Detail)
			return nil
		}
	}
	fmt.Fprintf(opts.stdout, "Retrain of %s requested; the proposal opens once the model is idle (training pending or running).\n", model)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
