package githubfake

// handler answers one operation. It runs with s.mu held.
type handler func(s *Server, rq *request) *response

// handlers maps the operationId of every operation in the subset to its
// handler; a test checks that the two lists agree.
var handlers = map[string]handler{
	"apps/create-installation-access-token": createInstallationToken,
	"rate-limit/get":                        rateLimit,
	"repos/get":                             getRepo,
	"repos/get-content":                     getContent,
	"pulls/list":                            listPulls,
	"pulls/create":                          createPull,
	"pulls/get":                             getPull,
	"pulls/update":                          updatePull,
	"pulls/check-if-merged":                 checkMerged,
	"pulls/merge":                           mergePull,
	"repos/list-pull-requests-associated-with-commit": pullsForCommit,
	"pulls/list-requested-reviewers":                  listReviewers,
	"pulls/request-reviewers":                         requestReviewers,
	"pulls/remove-requested-reviewers":                removeReviewers,
	"issues/list-comments":                            listComments,
	"issues/create-comment":                           createComment,
	"issues/update-comment":                           updateComment,
	"issues/list-labels-on-issue":                     listIssueLabels,
	"issues/add-labels":                               addIssueLabels,
	"issues/remove-label":                             removeIssueLabel,
	"checks/create":                                   createCheckRun,
	"checks/get":                                      getCheckRun,
	"checks/update":                                   updateCheckRun,
	"checks/list-annotations":                         listAnnotations,
	"checks/list-for-ref":                             listCheckRunsForRef,
	"repos/create-commit-status":                      createStatus,
	"repos/list-commit-statuses-for-ref":              listStatuses,
	"repos/get-combined-status-for-ref":               combinedStatus,
	"git/get-ref":                                     getRef,
	"git/list-matching-refs":                          listMatchingRefs,
	"git/create-ref":                                  createRef,
	"git/update-ref":                                  updateRef,
	"git/delete-ref":                                  deleteRef,
}
