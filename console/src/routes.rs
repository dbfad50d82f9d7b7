//! Maps a console request (method + path) to an [`Endpoint`], before any
//! work is done. Everything under `/api/` is JSON (or a streamed object);
//! every other GET is an embedded asset or the single page.

use http::Method;
use percent_encoding::percent_decode_str;

/// What a console request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An embedded file (`/`, `/app.js`, ...); the page itself for unknown paths.
    Asset(String),
    SignIn,
    SignOut,
    Session,
    ListBuckets,
    CreateBucket,
    DeleteBucket(String),
    ListObjects(String),
    /// `?key=` names the object in these four.
    PutObject(String),
    GetObject(String),
    ObjectInfo(String),
    ShareObject(String),
    DeleteObjects(String),
    GetAccess(String),
    SetAccess(String),
    GetLifecycle(String),
    AddLifecycleRule(String),
    ImportLifecycle(String),
    DeleteLifecycleRule {
        bucket: String,
        id: String,
    },
    GetCors(String),
    AddCorsRule(String),
    /// The rule's position (from 0) in the bucket's CORS configuration.
    DeleteCorsRule {
        bucket: String,
        index: usize,
    },
    /// What the signed-in identity may do (on `?bucket=`, or bucket creation).
    Rights,
    ListUsers,
    AddUser,
    DeleteUser(String),
    SetUserStatus(String),
    AttachPolicy {
        user: String,
        policy: String,
    },
    DetachPolicy {
        user: String,
        policy: String,
    },
    ListPolicies,
    Health,
    /// The lifecycle scanner's last cycle and coming expiries per rule.
    LifecycleReport,
    /// Totals from the server's own Prometheus metrics, for the charts.
    Metrics,
    Heal,
    /// An `/api/` path or method the console does not serve.
    NotFound,
}

impl Endpoint {
    /// Whether the endpoint changes state, so it needs the CSRF token.
    /// Sign-in has no session yet; it is guarded by requiring JSON instead.
    pub fn changes_state(&self, method: &Method) -> bool {
        !matches!(*method, Method::GET | Method::HEAD) && *self != Endpoint::SignIn
    }
}

/// Routes `method` and the (still percent-encoded) `path`.
pub fn route(method: &Method, path: &str) -> Endpoint {
    let Some(api) = path.strip_prefix("/api/") else {
        return match *method {
            Method::GET | Method::HEAD => Endpoint::Asset(path.to_string()),
            _ => Endpoint::NotFound,
        };
    };
    let segments: Vec<String> = api
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    let put = *method == Method::PUT;
    let delete = *method == Method::DELETE;
    let name = |n: &str| n.to_string();
    match s.as_slice() {
        ["session"] if get => Endpoint::Session,
        ["session"] if post => Endpoint::SignIn,
        ["session"] if delete => Endpoint::SignOut,
        ["buckets"] if get => Endpoint::ListBuckets,
        ["buckets"] if post => Endpoint::CreateBucket,
        ["buckets", b] if delete && !b.is_empty() => Endpoint::DeleteBucket(name(b)),
        ["buckets", b, "objects"] if get => Endpoint::ListObjects(name(b)),
        ["buckets", b, "object"] if put => Endpoint::PutObject(name(b)),
        ["buckets", b, "object"] if get => Endpoint::GetObject(name(b)),
        ["buckets", b, "object", "info"] if get => Endpoint::ObjectInfo(name(b)),
        ["buckets", b, "object", "share"] if post => Endpoint::ShareObject(name(b)),
        ["buckets", b, "delete"] if post => Endpoint::DeleteObjects(name(b)),
        ["buckets", b, "access"] if get => Endpoint::GetAccess(name(b)),
        ["buckets", b, "access"] if put => Endpoint::SetAccess(name(b)),
        ["buckets", b, "lifecycle"] if get => Endpoint::GetLifecycle(name(b)),
        ["buckets", b, "lifecycle"] if post => Endpoint::AddLifecycleRule(name(b)),
        ["buckets", b, "lifecycle", "import"] if post => Endpoint::ImportLifecycle(name(b)),
        ["buckets", b, "lifecycle", id] if delete && !id.is_empty() => {
            Endpoint::DeleteLifecycleRule {
                bucket: name(b),
                id: name(id),
            }
        }
        ["buckets", b, "cors"] if get => Endpoint::GetCors(name(b)),
        ["buckets", b, "cors"] if post => Endpoint::AddCorsRule(name(b)),
        ["buckets", b, "cors", i] if delete => match i.parse() {
            Ok(index) => Endpoint::DeleteCorsRule {
                bucket: name(b),
                index,
            },
            Err(_) => Endpoint::NotFound,
        },
        ["rights"] if get => Endpoint::Rights,
        ["users"] if get => Endpoint::ListUsers,
        ["users"] if post => Endpoint::AddUser,
        ["users", u] if delete && !u.is_empty() => Endpoint::DeleteUser(name(u)),
        ["users", u, "status"] if put => Endpoint::SetUserStatus(name(u)),
        ["users", u, "policies", p] if put => Endpoint::AttachPolicy {
            user: name(u),
            policy: name(p),
        },
        ["users", u, "policies", p] if delete => Endpoint::DetachPolicy {
            user: name(u),
            policy: name(p),
        },
        ["policies"] if get => Endpoint::ListPolicies,
        ["health"] if get => Endpoint::Health,
        ["health", "lifecycle"] if get => Endpoint::LifecycleReport,
        ["metrics"] if get => Endpoint::Metrics,
        ["heal"] if post => Endpoint::Heal,
        _ => Endpoint::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_by_method() {
        let table = [
            (Method::GET, "/", Endpoint::Asset("/".into())),
            (Method::GET, "/app.js", Endpoint::Asset("/app.js".into())),
            (Method::POST, "/", Endpoint::NotFound),
            (Method::POST, "/api/session", Endpoint::SignIn),
            (Method::DELETE, "/api/session", Endpoint::SignOut),
            (Method::GET, "/api/buckets", Endpoint::ListBuckets),
            (
                Method::DELETE,
                "/api/buckets/b1",
                Endpoint::DeleteBucket("b1".into()),
            ),
            (
                Method::PUT,
                "/api/buckets/b1/object",
                Endpoint::PutObject("b1".into()),
            ),
            (
                Method::GET,
                "/api/buckets/b1/object/info",
                Endpoint::ObjectInfo("b1".into()),
            ),
            (
                Method::DELETE,
                "/api/buckets/b1/lifecycle/temp%2F7d",
                Endpoint::DeleteLifecycleRule {
                    bucket: "b1".into(),
                    id: "temp/7d".into(),
                },
            ),
            (
                Method::PUT,
                "/api/users/al%40x/policies/readwrite",
                Endpoint::AttachPolicy {
                    user: "al@x".into(),
                    policy: "readwrite".into(),
                },
            ),
            (
                Method::DELETE,
                "/api/buckets/b1/cors/2",
                Endpoint::DeleteCorsRule {
                    bucket: "b1".into(),
                    index: 2,
                },
            ),
            (Method::DELETE, "/api/buckets/b1/cors/x", Endpoint::NotFound),
            (Method::GET, "/api/rights", Endpoint::Rights),
            (
                Method::GET,
                "/api/health/lifecycle",
                Endpoint::LifecycleReport,
            ),
            (Method::PATCH, "/api/buckets", Endpoint::NotFound),
            (Method::GET, "/api/nothing", Endpoint::NotFound),
        ];
        for (method, path, want) in table {
            assert_eq!(route(&method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn every_state_change_but_sign_in_needs_the_csrf_token() {
        assert!(!Endpoint::SignIn.changes_state(&Method::POST));
        assert!(Endpoint::SignOut.changes_state(&Method::DELETE));
        assert!(Endpoint::PutObject("b".into()).changes_state(&Method::PUT));
        assert!(!Endpoint::ListBuckets.changes_state(&Method::GET));
    }
}
