//! The console's pages, as maud templates: every `(value)` interpolated is
//! HTML-escaped, so a report's text or a notifier's name can never become
//! markup. No scripts; the one style sheet is `/admin/console.css`.

use maud::{DOCTYPE, Markup, html};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::social::holds::Hold;
use crate::social::moderation::{Report, TargetSummary, TargetType};
use crate::trust::appeals::Decision;
use crate::trust::directory::Standing;

/// What every signed-in page shows around its content.
pub struct Frame<'a> {
    pub actor: &'a str,
    pub csrf: &'a str,
    /// A message from the action before: good news or not, and its text.
    pub flash: Option<(bool, String)>,
}

/// A report with what the moderator needs to judge it.
pub struct ReportCard {
    pub report: Report,
    /// The target as it is now; none once deleted.
    pub target: Option<TargetSummary>,
    /// Presigned previews of the reported post's photos.
    pub photos: Vec<String>,
}

/// A value's name as the API spells it (`child_safety`, `post`, ...).
fn label<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".into(),
    }
}

fn when(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

fn reason_field() -> Markup {
    html! { input type="text" name="reason" required maxlength="1000" placeholder="Reason, for the record"; }
}

fn page(title: &str, frame: Option<&Frame>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Ciel moderation · " (title) }
                link rel="stylesheet" href="/admin/console.css";
            }
            body {
                @if let Some(frame) = frame {
                    header {
                        nav {
                            a href="/admin/reports" { "Reports" }
                            a href="/admin/appeals" { "Appeals" }
                            a href="/admin/users" { "Users" }
                            a href="/admin/holds" { "Legal holds" }
                        }
                        span.who { "Signed in as " (frame.actor) }
                        form.logout method="post" action="/admin/logout" {
                            (csrf_field(frame.csrf))
                            button type="submit" { "Sign out" }
                        }
                    }
                    @if let Some((ok, message)) = &frame.flash {
                        p #flash class=(if *ok { "flash ok" } else { "flash error" }) { (message) }
                    }
                }
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

pub fn login(error: Option<&str>) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            @if let Some(error) = error {
                p #flash class="flash error" { (error) }
            }
            form #login method="post" action="/admin/login" {
                label { "Admin token " input type="password" name="token" required autocomplete="off"; }
                label {
                    "Your name, for the record (optional) "
                    input type="text" name="actor" maxlength="64" pattern="[A-Za-z0-9._@-]{1,64}";
                }
                button type="submit" { "Sign in" }
            }
        },
    )
}

pub fn error(title: &str, code: &str, message: &str) -> Markup {
    page(
        title,
        None,
        html! {
            p.error { (message) }
            p { "Code: " code { (code) } }
            p { a href="/admin/reports" { "Back to the console" } }
        },
    )
}

pub fn reports(frame: &Frame, cards: &[ReportCard], next: Option<&str>) -> Markup {
    page(
        "Reports",
        Some(frame),
        html! {
            p { "Child safety first, then violence, harassment, spam and the rest; newest first within each." }
            @if cards.is_empty() { p.empty { "No reports." } }
            @for card in cards { (report(frame.csrf, card)) }
            @if let Some(next) = next {
                p { a.next href=(format!("/admin/reports?cursor={next}")) { "Next page" } }
            }
        },
    )
}

fn report(csrf: &str, card: &ReportCard) -> Markup {
    let r = &card.report;
    html! {
        article.report id=(format!("report-{}", r.id)) data-target=(r.target_id) {
            h2 {
                span.category { (label(&r.category)) }
                " · " (label(&r.target_type)) " " code.target { (r.target_id) }
            }
            (target(r.target_type, card.target.as_ref()))
            p.reason { "Report: " span.report-text { (r.reason) } }
            p.from {
                @if let Some(handle) = &r.reporter_handle {
                    "Reported by @" (handle)
                } @else if let Some(name) = &r.notifier_name {
                    "Notice from " (name)
                    @if let Some(email) = &r.notifier_email { " <" (email) ">" }
                }
                " at " (when(r.created_at))
            }
            @match r.resolution {
                Some(resolution) => p.status { "Resolved: " (label(&resolution)) },
                None => p.status { "Open" },
            }
            @for url in &card.photos {
                img.reported src=(url) alt="the reported photo";
            }
            div.actions {
                @if r.resolution.is_none() {
                    form.resolve method="post" action=(format!("/admin/reports/{}/resolution", r.id)) {
                        (csrf_field(csrf))
                        select name="resolution" {
                            option value="upheld" { "Uphold: a strike" }
                            option value="dismissed" { "Dismiss" }
                        }
                        (reason_field())
                        button type="submit" { "Resolve" }
                    }
                }
                @if let (TargetType::Post, Some(post)) = (r.target_type, &card.target) {
                    (post_actions(csrf, r.target_id, post.withdrawn))
                }
            }
        }
    }
}

fn target(kind: TargetType, target: Option<&TargetSummary>) -> Markup {
    let Some(target) = target else {
        return html! { p.target { "Deleted since." } };
    };
    let withdrawn = match kind {
        TargetType::User => "suspended",
        _ => "taken down",
    };
    html! {
        p.target {
            @if kind == TargetType::User { "Account " } @else { "By " }
            a href=(format!("/admin/users?q={}", target.handle)) { "@" (target.handle) }
            @if target.withdrawn { " · " strong.withdrawn { (withdrawn) } }
        }
        @if let Some(text) = &target.text {
            blockquote.target-text { (text) }
        }
    }
}

fn post_actions(csrf: &str, post: Uuid, taken_down: bool) -> Markup {
    html! {
        @if taken_down {
            form.restore method="post" action=(format!("/admin/posts/{post}/restore")) {
                (csrf_field(csrf))
                (reason_field())
                button type="submit" { "Restore the post" }
            }
        } @else {
            form.takedown method="post" action=(format!("/admin/posts/{post}/takedown")) {
                (csrf_field(csrf))
                (reason_field())
                button type="submit" { "Take the post down" }
            }
        }
        form.hold method="post" action="/admin/holds" {
            (csrf_field(csrf))
            input type="hidden" name="target_type" value="post";
            input type="hidden" name="target_id" value=(post);
            (reason_field())
            (days_field())
            button type="submit" { "Place a legal hold" }
        }
    }
}

fn days_field() -> Markup {
    html! { input type="number" name="days" min="1" max="1825" placeholder="Days (365)"; }
}

pub fn users(frame: &Frame, query: &str, found: &[Standing]) -> Markup {
    page(
        "Users",
        Some(frame),
        html! {
            form #search method="get" action="/admin/users" {
                input type="search" name="q" value=(query) required maxlength="50" placeholder="Handle prefix";
                button type="submit" { "Search" }
            }
            @if !query.is_empty() && found.is_empty() { p.empty { "Nobody's handle starts with that." } }
            @if !found.is_empty() {
                table {
                    thead { tr { th { "Handle" } th { "Level" } th { "Strikes" } th { "Suspension" } th { "Act" } } }
                    tbody {
                        @for user in found { (user_row(frame.csrf, user)) }
                    }
                }
            }
        },
    )
}

fn user_row(csrf: &str, user: &Standing) -> Markup {
    html! {
        tr.user id=(format!("user-{}", user.handle)) {
            td { "@" (user.handle) }
            td.level { (label(&user.level)) @if user.pinned { " (pinned)" } }
            td.strikes { (user.strikes) }
            td.suspension {
                @match (user.suspended_at, user.suspended_until) {
                    (None, _) => "not suspended",
                    (Some(_), Some(until)) => { "suspended until " (when(until)) },
                    (Some(since), None) => { "suspended since " (when(since)) ", until lifted" },
                }
            }
            td {
                @if user.suspended_at.is_some() {
                    form.lift method="post" action=(format!("/admin/users/{}/lift", user.handle)) {
                        (csrf_field(csrf))
                        (reason_field())
                        button type="submit" { "Lift the suspension" }
                    }
                } @else {
                    form.suspend method="post" action=(format!("/admin/users/{}/suspend", user.handle)) {
                        (csrf_field(csrf))
                        (reason_field())
                        button type="submit" { "Suspend" }
                    }
                }
            }
        }
    }
}

pub fn holds(frame: &Frame, holds: &[Hold], next: Option<&str>) -> Markup {
    page(
        "Legal holds",
        Some(frame),
        html! {
            form #place-hold method="post" action="/admin/holds" {
                (csrf_field(frame.csrf))
                select name="target_type" {
                    option value="post" { "Post" }
                    option value="media" { "Photo" }
                    option value="user" { "Account" }
                }
                input type="text" name="target_id" required pattern="[0-9a-fA-F-]{36}" placeholder="Id";
                (reason_field())
                (days_field())
                button type="submit" { "Place a legal hold" }
            }
            table {
                thead { tr { th { "Target" } th { "Reason" } th { "Placed by" } th { "Placed" } th { "Ends" } } }
                tbody {
                    @for hold in holds {
                        tr.hold id=(format!("hold-{}", hold.id)) {
                            td { (hold.target_type) " " code { (hold.target_id) } }
                            td.reason { (hold.reason) }
                            td { (hold.placed_by) }
                            td { (when(hold.created_at)) }
                            td {
                                @match hold.released_at {
                                    Some(at) => { "released " (when(at)) },
                                    None => (when(hold.expires_at)),
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                p { a.next href=(format!("/admin/holds?cursor={next}")) { "Next page" } }
            }
        },
    )
}

pub fn appeals(frame: &Frame, appeals: &[Decision], next: Option<&str>) -> Markup {
    page(
        "Appeals",
        Some(frame),
        html! {
            p { "Appeals awaiting an answer, oldest first. Reversing undoes the decision: a post comes back, a strike is withdrawn, a suspension lifted." }
            @if appeals.is_empty() { p.empty { "No appeal awaits an answer." } }
            @for decision in appeals {
                article.appeal id=(format!("appeal-{}", decision.id)) {
                    h2 { (label(&decision.kind)) " · " code { (decision.subject_id) } }
                    p { "Ground: " span.ground { (decision.ground) } }
                    p { "Appeal: " span.appeal-text { (decision.appeal_text.as_deref().unwrap_or("")) } }
                    @if let Some(at) = decision.appealed_at { p { "Appealed at " (when(at)) } }
                    form.answer method="post" action=(format!("/admin/appeals/{}/decision", decision.id)) {
                        (csrf_field(frame.csrf))
                        select name="outcome" {
                            option value="upheld" { "Uphold: the decision stands" }
                            option value="reversed" { "Reverse: undo the decision" }
                        }
                        (reason_field())
                        button type="submit" { "Answer" }
                    }
                }
            }
            @if let Some(next) = next {
                p { a.next href=(format!("/admin/appeals?cursor={next}")) { "Next page" } }
            }
        },
    )
}

/// The console's one style sheet (served as `'self'` under its CSP).
pub const STYLE: &str = "\
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f6f7}
header{display:flex;gap:1.5em;align-items:center;padding:.6em 1.5em;background:#222;color:#eee}
header nav a{color:#fff;margin-right:1em;text-decoration:none;font-weight:600}
header .who{margin-left:auto;font-size:.9em}
main{padding:1em 1.5em;max-width:70em}
.flash{margin:1em 1.5em;padding:.6em 1em;border-radius:4px}
.flash.ok{background:#e3f6e5;border:1px solid #7bc47f}
.flash.error{background:#fde8e8;border:1px solid #e08080}
article{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.8em 1.2em;margin:0 0 1em}
article h2{font-size:1.05em;margin:.2em 0}
blockquote{margin:.4em 0;padding:.3em .8em;border-left:3px solid #bbb;background:#fafafa}
.withdrawn{color:#b00020}
.category{text-transform:uppercase;color:#b00020;font-weight:700}
img.reported{max-width:320px;max-height:320px;display:block;margin:.5em 0;border:1px solid #ccc}
form{margin:.3em 0;display:flex;gap:.5em;flex-wrap:wrap;align-items:center}
input[type=text],input[type=search],input[type=password]{min-width:18em;padding:.3em}
input[type=number]{width:8em;padding:.3em}
table{border-collapse:collapse;background:#fff;width:100%}
td,th{border:1px solid #ddd;padding:.4em .6em;text-align:left;vertical-align:top}
#login{flex-direction:column;align-items:flex-start;max-width:28em}
";
