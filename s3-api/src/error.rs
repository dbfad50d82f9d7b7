//! `ApiError`: an S3 error as the client sees it (code, message, status,
//! resource, extra fields), the one mapping from `StoreError`, `AuthError`
//! and lifecycle errors to S3 codes, and the `<Error>` XML body.
//!
//! Nothing else in the crate decides which S3 code or status an internal
//! error becomes; handlers either build an `ApiError` from an [`S3Code`] or
//! convert a lower-layer error with `From`.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use store::api::StoreError;

use crate::auth::AuthError;
use crate::ResponseBody;

/// The S3 error codes minnow answers with. `as_str` is the `<Code>` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum S3Code {
    AccessDenied,
    /// A CORS preflight no rule allows (S3's `CORSResponse` refusal).
    AccessForbidden,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    BadDigest,
    /// A request S3 cannot make sense of (e.g. a preflight without Origin).
    BadRequest,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    EntityTooLarge,
    EntityTooSmall,
    IncompleteBody,
    InternalError,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidBucketName,
    InvalidDigest,
    InvalidPart,
    InvalidPartOrder,
    /// GET/HEAD `?partNumber=N` past the object's parts (416).
    InvalidPartNumber,
    /// A POST form's policy that is not base64 JSON of a policy document.
    InvalidPolicyDocument,
    InvalidRange,
    InvalidRequest,
    /// A tag key or value out of S3's limits, or a key given twice.
    InvalidTag,
    InvalidURI,
    KeyTooLongError,
    MalformedPolicy,
    /// A POST form body that is not readable multipart/form-data.
    MalformedPOSTRequest,
    MalformedXML,
    MaxMessageLengthExceeded,
    /// A POST form's fields before the file are over the limit.
    MaxPostPreDataLengthExceededError,
    MetadataTooLarge,
    MethodNotAllowed,
    MissingContentLength,
    NoSuchBucket,
    NoSuchBucketPolicy,
    NoSuchCORSConfiguration,
    NoSuchKey,
    NoSuchLifecycleConfiguration,
    NoSuchUpload,
    NotImplemented,
    PreconditionFailed,
    RequestTimeTooSkewed,
    /// A request body that stopped arriving (S3 and MinIO: 400).
    RequestTimeout,
    SignatureDoesNotMatch,
    SlowDown,
    XAmzContentSHA256Mismatch,
    /// MinIO's code for keys the store refuses (S3 itself accepts almost any key).
    XMinioInvalidObjectName,
}

impl S3Code {
    /// The `<Code>` text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "AccessDenied",
            Self::AccessForbidden => "AccessForbidden",
            Self::AuthorizationHeaderMalformed => "AuthorizationHeaderMalformed",
            Self::AuthorizationQueryParametersError => "AuthorizationQueryParametersError",
            Self::BadDigest => "BadDigest",
            Self::BadRequest => "BadRequest",
            Self::BucketAlreadyExists => "BucketAlreadyExists",
            Self::BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
            Self::BucketNotEmpty => "BucketNotEmpty",
            Self::EntityTooLarge => "EntityTooLarge",
            Self::EntityTooSmall => "EntityTooSmall",
            Self::IncompleteBody => "IncompleteBody",
            Self::InternalError => "InternalError",
            Self::InvalidAccessKeyId => "InvalidAccessKeyId",
            Self::InvalidArgument => "InvalidArgument",
            Self::InvalidBucketName => "InvalidBucketName",
            Self::InvalidDigest => "InvalidDigest",
            Self::InvalidPart => "InvalidPart",
            Self::InvalidPartOrder => "InvalidPartOrder",
            Self::InvalidPartNumber => "InvalidPartNumber",
            Self::InvalidPolicyDocument => "InvalidPolicyDocument",
            Self::InvalidRange => "InvalidRange",
            Self::InvalidRequest => "InvalidRequest",
            Self::InvalidTag => "InvalidTag",
            Self::InvalidURI => "InvalidURI",
            Self::KeyTooLongError => "KeyTooLongError",
            Self::MalformedPolicy => "MalformedPolicy",
            Self::MalformedPOSTRequest => "MalformedPOSTRequest",
            Self::MalformedXML => "MalformedXML",
            Self::MaxMessageLengthExceeded => "MaxMessageLengthExceeded",
            Self::MaxPostPreDataLengthExceededError => "MaxPostPreDataLengthExceededError",
            Self::MetadataTooLarge => "MetadataTooLarge",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::MissingContentLength => "MissingContentLength",
            Self::NoSuchBucket => "NoSuchBucket",
            Self::NoSuchBucketPolicy => "NoSuchBucketPolicy",
            Self::NoSuchCORSConfiguration => "NoSuchCORSConfiguration",
            Self::NoSuchKey => "NoSuchKey",
            Self::NoSuchLifecycleConfiguration => "NoSuchLifecycleConfiguration",
            Self::NoSuchUpload => "NoSuchUpload",
            Self::NotImplemented => "NotImplemented",
            Self::PreconditionFailed => "PreconditionFailed",
            Self::RequestTimeTooSkewed => "RequestTimeTooSkewed",
            Self::RequestTimeout => "RequestTimeout",
            Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Self::SlowDown => "SlowDown",
            Self::XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
            Self::XMinioInvalidObjectName => "XMinioInvalidObjectName",
        }
    }

    /// The HTTP status S3 uses for this code.
    pub fn status(self) -> StatusCode {
        match self {
            Self::AccessDenied
            | Self::AccessForbidden
            | Self::InvalidAccessKeyId
            | Self::RequestTimeTooSkewed
            | Self::SignatureDoesNotMatch => StatusCode::FORBIDDEN,
            Self::NoSuchBucket
            | Self::NoSuchBucketPolicy
            | Self::NoSuchCORSConfiguration
            | Self::NoSuchKey
            | Self::NoSuchLifecycleConfiguration
            | Self::NoSuchUpload => StatusCode::NOT_FOUND,
            Self::BucketAlreadyExists | Self::BucketAlreadyOwnedByYou | Self::BucketNotEmpty => {
                StatusCode::CONFLICT
            }
            Self::InvalidRange | Self::InvalidPartNumber => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::MissingContentLength => StatusCode::LENGTH_REQUIRED,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            Self::SlowDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::AuthorizationHeaderMalformed
            | Self::AuthorizationQueryParametersError
            | Self::BadDigest
            | Self::EntityTooLarge
            | Self::EntityTooSmall
            | Self::IncompleteBody
            | Self::InvalidArgument
            | Self::InvalidBucketName
            | Self::InvalidDigest
            | Self::InvalidPart
            | Self::InvalidPartOrder
            | Self::InvalidPolicyDocument
            | Self::InvalidRequest
            | Self::InvalidTag
            | Self::BadRequest
            | Self::InvalidURI
            | Self::KeyTooLongError
            | Self::MalformedPolicy
            | Self::MalformedPOSTRequest
            | Self::MalformedXML
            | Self::MaxMessageLengthExceeded
            | Self::MaxPostPreDataLengthExceededError
            | Self::MetadataTooLarge
            | Self::RequestTimeout
            | Self::XAmzContentSHA256Mismatch
            | Self::XMinioInvalidObjectName => StatusCode::BAD_REQUEST,
        }
    }

    /// The message S3 sends with this code when nothing more specific is known.
    pub fn default_message(self) -> &'static str {
        match self {
            Self::AccessDenied => "Access Denied.",
            Self::AccessForbidden => "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
            Self::AuthorizationHeaderMalformed => "The authorization header is malformed.",
            Self::AuthorizationQueryParametersError => {
                "Error parsing the X-Amz-Credential parameter."
            }
            Self::BadDigest => "The Content-MD5 you specified did not match what we received.",
            Self::BucketAlreadyExists => {
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."
            }
            Self::BucketAlreadyOwnedByYou => {
                "Your previous request to create the named bucket succeeded and you already own it."
            }
            Self::BucketNotEmpty => "The bucket you tried to delete is not empty",
            Self::EntityTooLarge => "Your proposed upload exceeds the maximum allowed object size.",
            Self::EntityTooSmall => {
                "Your proposed upload is smaller than the minimum allowed object size."
            }
            Self::IncompleteBody => {
                "You did not provide the number of bytes specified by the Content-Length HTTP header."
            }
            Self::InternalError => "We encountered an internal error, please try again.",
            Self::InvalidAccessKeyId => {
                "The Access Key Id you provided does not exist in our records."
            }
            Self::InvalidArgument => "Invalid Argument",
            Self::InvalidBucketName => "The specified bucket is not valid.",
            Self::InvalidDigest => "The Content-Md5 you specified is not valid.",
            Self::InvalidPart => {
                "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
            }
            Self::InvalidPartOrder => {
                "The list of parts was not in ascending order. The parts list must be specified in order by part number."
            }
            Self::InvalidPolicyDocument => {
                "The content of the form does not meet the conditions specified in the policy document."
            }
            Self::InvalidRange => "The requested range is not satisfiable",
            Self::InvalidPartNumber => "The requested partnumber is not satisfiable",
            Self::InvalidRequest => "Invalid Request",
            Self::InvalidTag => "The TagKey you have provided is invalid",
            Self::BadRequest => "Bad Request",
            Self::InvalidURI => "Couldn't parse the specified URI.",
            Self::KeyTooLongError => "Your key is too long",
            Self::MalformedPolicy => "Policies must be valid JSON and the first byte must be '{'",
            Self::MalformedPOSTRequest => {
                "The body of your POST request is not well-formed multipart/form-data."
            }
            Self::MaxPostPreDataLengthExceededError => {
                "Your POST request fields preceding the upload file were too large."
            }
            Self::MalformedXML => {
                "The XML you provided was not well-formed or did not validate against our published schema."
            }
            Self::MaxMessageLengthExceeded => "Your request was too big.",
            Self::MetadataTooLarge => {
                "Your metadata headers exceed the maximum allowed metadata size."
            }
            Self::MethodNotAllowed => {
                "The specified method is not allowed against this resource."
            }
            Self::MissingContentLength => "You must provide the Content-Length HTTP header.",
            Self::NoSuchBucket => "The specified bucket does not exist",
            Self::NoSuchBucketPolicy => "The bucket policy does not exist",
            Self::NoSuchCORSConfiguration => "The CORS configuration does not exist",
            Self::NoSuchKey => "The specified key does not exist.",
            Self::NoSuchLifecycleConfiguration => "The lifecycle configuration does not exist",
            Self::NoSuchUpload => {
                "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
            }
            Self::NotImplemented => {
                "A header you provided implies functionality that is not implemented"
            }
            Self::PreconditionFailed => {
                "At least one of the pre-conditions you specified did not hold"
            }
            Self::RequestTimeTooSkewed => {
                "The difference between the request time and the server's time is too large."
            }
            Self::RequestTimeout => {
                "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."
            }
            Self::SignatureDoesNotMatch => {
                "The request signature we calculated does not match the signature you provided. Check your key and signing method."
            }
            Self::SlowDown => "Please reduce your request rate.",
            Self::XAmzContentSHA256Mismatch => {
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            }
            Self::XMinioInvalidObjectName => "Object name contains unsupported characters.",
        }
    }
}

/// An S3 error response in the making.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: S3Code,
    pub message: String,
    /// `<Resource>`: the request path; `handle` fills it in when a handler did not.
    pub resource: Option<String>,
    /// Extra `<Name>value</Name>` elements after `<Message>` (BucketName, Key, ArgumentName...).
    pub extra: Vec<(&'static str, String)>,
    /// Extra response headers (e.g. `Content-Range: bytes */size` on 416).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An error with the code's default message.
    pub fn new(code: S3Code) -> Self {
        Self::with_message(code, code.default_message())
    }

    pub fn with_message(code: S3Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            resource: None,
            extra: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds an extra element to the XML body.
    pub fn field(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// `InvalidArgument` naming the argument, as S3 does.
    pub fn invalid_argument(message: impl Into<String>, name: &str, value: &str) -> Self {
        Self::with_message(S3Code::InvalidArgument, message)
            .field("ArgumentName", name)
            .field("ArgumentValue", value)
    }

    pub fn not_implemented(what: &str) -> Self {
        Self::with_message(
            S3Code::NotImplemented,
            format!("A header or query you provided implies functionality that is not implemented: {what}"),
        )
    }

    pub fn no_such_bucket(bucket: &str) -> Self {
        Self::new(S3Code::NoSuchBucket).field("BucketName", bucket)
    }

    pub fn no_such_key(bucket: &str, key: &str) -> Self {
        Self::new(S3Code::NoSuchKey)
            .field("Key", key)
            .field("BucketName", bucket)
    }

    /// The `<Error>` document.
    pub fn to_xml(&self, request_id: &str, host_id: &str) -> String {
        use quick_xml::escape::escape;
        let mut xml = String::with_capacity(256);
        xml.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        xml.push('\n');
        xml.push_str("<Error><Code>");
        xml.push_str(self.code.as_str());
        xml.push_str("</Code><Message>");
        xml.push_str(&escape(self.message.as_str()));
        xml.push_str("</Message>");
        for (name, value) in &self.extra {
            xml.push('<');
            xml.push_str(name);
            xml.push('>');
            xml.push_str(&escape(value.as_str()));
            xml.push_str("</");
            xml.push_str(name);
            xml.push('>');
        }
        if let Some(resource) = &self.resource {
            xml.push_str("<Resource>");
            xml.push_str(&escape(resource.as_str()));
            xml.push_str("</Resource>");
        }
        xml.push_str("<RequestId>");
        xml.push_str(&escape(request_id));
        xml.push_str("</RequestId><HostId>");
        xml.push_str(&escape(host_id));
        xml.push_str("</HostId></Error>");
        xml
    }

    /// The full response; HEAD responses carry no body (the status says it all).
    pub fn to_response(
        &self,
        request_id: &str,
        host_id: &str,
        with_body: bool,
    ) -> Response<ResponseBody> {
        let mut builder = Response::builder().status(self.status());
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let body = if with_body {
            let xml = self.to_xml(request_id, host_id);
            builder = builder
                .header(http::header::CONTENT_TYPE, "application/xml")
                .header(http::header::CONTENT_LENGTH, xml.len());
            Full::new(Bytes::from(xml))
                .map_err(|never| match never {})
                .boxed()
        } else {
            Empty::new().map_err(|never| match never {}).boxed()
        };
        builder.body(body).unwrap_or_else(|_| {
            // Only a bad extra header could fail the builder; answer plainly instead.
            let mut response = Response::new(Empty::new().map_err(|never| match never {}).boxed());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::InvalidBucketName(name) => {
                ApiError::new(S3Code::InvalidBucketName).field("BucketName", name)
            }
            StoreError::NoSuchBucket(name) => ApiError::no_such_bucket(&name),
            // One owner (root) owns every bucket, so an existing bucket is always "yours".
            StoreError::BucketAlreadyExists(name) => {
                ApiError::new(S3Code::BucketAlreadyOwnedByYou).field("BucketName", name)
            }
            StoreError::BucketNotEmpty(name) => {
                ApiError::new(S3Code::BucketNotEmpty).field("BucketName", name)
            }
            StoreError::NoSuchKey { bucket, key } => ApiError::no_such_key(&bucket, &key),
            StoreError::InvalidKey(key) => {
                ApiError::new(S3Code::XMinioInvalidObjectName).field("Key", key)
            }
            StoreError::KeyTooLong => ApiError::new(S3Code::KeyTooLongError),
            StoreError::NoSuchUpload(id) => {
                ApiError::new(S3Code::NoSuchUpload).field("UploadId", id)
            }
            StoreError::InvalidPart(number) => {
                ApiError::new(S3Code::InvalidPart).field("PartNumber", number.to_string())
            }
            StoreError::InvalidPartOrder => ApiError::new(S3Code::InvalidPartOrder),
            StoreError::EntityTooSmall { part, size } => ApiError::new(S3Code::EntityTooSmall)
                .field("ProposedSize", size.to_string())
                .field("MinSizeAllowed", "5242880")
                .field("PartNumber", part.to_string()),
            StoreError::EntityTooLarge => ApiError::new(S3Code::EntityTooLarge),
            StoreError::InvalidArgument(message) => {
                ApiError::with_message(S3Code::InvalidArgument, message)
            }
            StoreError::InvalidRange => ApiError::new(S3Code::InvalidRange),
            StoreError::BadDigest => ApiError::new(S3Code::BadDigest),
            StoreError::BadChecksum { algorithm } => bad_checksum(algorithm.name()),
            StoreError::IncompleteBody => ApiError::new(S3Code::IncompleteBody),
            // The handler replaces this with the body's own AuthError when it has one.
            StoreError::Body(_) => ApiError::new(S3Code::IncompleteBody),
            StoreError::WriteQuorum { .. } | StoreError::ReadQuorum { .. } => {
                ApiError::with_message(
                    S3Code::SlowDown,
                    "Resource requested is unreadable, please reduce your request rate",
                )
            }
            StoreError::Corrupt(_)
            | StoreError::DriveConfig { .. }
            | StoreError::Io(_)
            | StoreError::Internal(_) => ApiError::new(S3Code::InternalError),
        }
    }
}

fn bad_checksum(algorithm: &str) -> ApiError {
    ApiError::with_message(
        S3Code::BadDigest,
        format!(
            "The {} you specified did not match the calculated checksum.",
            algorithm.to_ascii_uppercase()
        ),
    )
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::AccessDenied(message) => {
                ApiError::with_message(S3Code::AccessDenied, message)
            }
            AuthError::UnsignedHeaders(names) => {
                ApiError::with_message(S3Code::AccessDenied, crate::auth::UNSIGNED_HEADERS_MESSAGE)
                    .field("HeadersNotSigned", names.join(", "))
            }
            AuthError::InvalidAccessKeyId => ApiError::new(S3Code::InvalidAccessKeyId),
            AuthError::SignatureDoesNotMatch => ApiError::new(S3Code::SignatureDoesNotMatch),
            AuthError::RequestTimeTooSkewed => ApiError::new(S3Code::RequestTimeTooSkewed),
            AuthError::AuthorizationHeaderMalformed(message) => {
                ApiError::with_message(S3Code::AuthorizationHeaderMalformed, message)
            }
            AuthError::AuthorizationQueryParametersError(message) => {
                ApiError::with_message(S3Code::AuthorizationQueryParametersError, message)
            }
            AuthError::ContentSha256Mismatch => ApiError::new(S3Code::XAmzContentSHA256Mismatch),
            AuthError::InvalidArgument(message) => {
                ApiError::with_message(S3Code::InvalidArgument, message)
            }
            AuthError::RequestTimeout => ApiError::new(S3Code::RequestTimeout),
            AuthError::IncompleteBody => ApiError::new(S3Code::IncompleteBody),
            AuthError::MalformedChunkedEncoding(message) => ApiError::with_message(
                S3Code::InvalidRequest,
                format!("The aws-chunked body is malformed: {message}"),
            ),
            AuthError::MalformedTrailer(message) => ApiError::with_message(
                S3Code::InvalidRequest,
                format!("The request trailer is malformed: {message}"),
            ),
            AuthError::BadChecksum(algorithm) => bad_checksum(&algorithm),
            AuthError::InvalidChecksumValue(name) => ApiError::with_message(
                S3Code::InvalidRequest,
                format!("Value for {name} header is invalid."),
            ),
            AuthError::MissingContentLength => ApiError::new(S3Code::MissingContentLength),
            AuthError::EntityTooLarge => ApiError::new(S3Code::EntityTooLarge),
            AuthError::NotImplemented(what) => ApiError::not_implemented(&what),
        }
    }
}

impl From<crate::handlers::post_policy::PostPolicyError> for ApiError {
    fn from(error: crate::handlers::post_policy::PostPolicyError) -> Self {
        use crate::handlers::post_policy::PostPolicyError;
        let message = error.to_string();
        match error {
            PostPolicyError::InvalidPolicyDocument(_) => {
                ApiError::with_message(S3Code::InvalidPolicyDocument, message)
            }
            PostPolicyError::Expired
            | PostPolicyError::ConditionFailed(_)
            | PostPolicyError::ExtraField(_) => {
                ApiError::with_message(S3Code::AccessDenied, message)
            }
            PostPolicyError::TooLarge { .. } => ApiError::new(S3Code::EntityTooLarge),
            PostPolicyError::TooSmall { .. } => ApiError::new(S3Code::EntityTooSmall),
            PostPolicyError::Malformed(_) => {
                ApiError::with_message(S3Code::MalformedPOSTRequest, message)
            }
            PostPolicyError::InvalidArgument(_) => {
                ApiError::with_message(S3Code::InvalidArgument, message)
            }
            PostPolicyError::FieldsTooLarge => {
                ApiError::new(S3Code::MaxPostPreDataLengthExceededError)
            }
            PostPolicyError::NotMultipart => {
                ApiError::with_message(S3Code::PreconditionFailed, message).field(
                    "Condition",
                    "Bucket POST must be of the enclosure-type multipart/form-data",
                )
            }
        }
    }
}

impl From<lifecycle::LifecycleError> for ApiError {
    fn from(error: lifecycle::LifecycleError) -> Self {
        use lifecycle::LifecycleError;
        match error {
            LifecycleError::MalformedXml(message) | LifecycleError::MalformedJson(message) => {
                ApiError::with_message(S3Code::MalformedXML, message)
            }
            LifecycleError::InvalidArgument(message) => {
                ApiError::with_message(S3Code::InvalidArgument, message)
            }
            LifecycleError::InvalidRequest(message) => {
                ApiError::with_message(S3Code::InvalidRequest, message)
            }
            // The enum is non_exhaustive: a new refusal is still the client's fault.
            other => ApiError::with_message(S3Code::InvalidRequest, other.to_string()),
        }
    }
}

impl From<iam::policy::PolicyError> for ApiError {
    fn from(error: iam::policy::PolicyError) -> Self {
        use iam::policy::PolicyError;
        match error {
            PolicyError::Malformed(message) => {
                ApiError::with_message(S3Code::MalformedPolicy, message)
            }
            PolicyError::Unsupported(what) => {
                ApiError::not_implemented(&format!("policy element {what}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::api::ChecksumAlgorithm;

    #[test]
    fn store_errors_map_to_s3_codes_and_statuses() {
        let table: Vec<(StoreError, &str, u16)> = vec![
            (
                StoreError::InvalidBucketName("A".into()),
                "InvalidBucketName",
                400,
            ),
            (StoreError::NoSuchBucket("b".into()), "NoSuchBucket", 404),
            (
                StoreError::BucketAlreadyExists("b".into()),
                "BucketAlreadyOwnedByYou",
                409,
            ),
            (
                StoreError::BucketNotEmpty("b".into()),
                "BucketNotEmpty",
                409,
            ),
            (
                StoreError::NoSuchKey {
                    bucket: "b".into(),
                    key: "k".into(),
                },
                "NoSuchKey",
                404,
            ),
            (
                StoreError::InvalidKey("a/../b".into()),
                "XMinioInvalidObjectName",
                400,
            ),
            (StoreError::KeyTooLong, "KeyTooLongError", 400),
            (StoreError::NoSuchUpload("u".into()), "NoSuchUpload", 404),
            (StoreError::InvalidPart(3), "InvalidPart", 400),
            (StoreError::InvalidPartOrder, "InvalidPartOrder", 400),
            (
                StoreError::EntityTooSmall { part: 1, size: 5 },
                "EntityTooSmall",
                400,
            ),
            (StoreError::EntityTooLarge, "EntityTooLarge", 400),
            (
                StoreError::InvalidArgument("x".into()),
                "InvalidArgument",
                400,
            ),
            (StoreError::InvalidRange, "InvalidRange", 416),
            (StoreError::BadDigest, "BadDigest", 400),
            (
                StoreError::BadChecksum {
                    algorithm: ChecksumAlgorithm::Crc32,
                },
                "BadDigest",
                400,
            ),
            (StoreError::IncompleteBody, "IncompleteBody", 400),
            (StoreError::Body("gone".into()), "IncompleteBody", 400),
            (
                StoreError::WriteQuorum {
                    online: 1,
                    needed: 3,
                },
                "SlowDown",
                503,
            ),
            (
                StoreError::ReadQuorum {
                    online: 1,
                    needed: 2,
                },
                "SlowDown",
                503,
            ),
            (StoreError::Corrupt("x".into()), "InternalError", 500),
            (
                StoreError::DriveConfig {
                    drive: "d".into(),
                    message: "m".into(),
                },
                "InternalError",
                500,
            ),
            (
                StoreError::Io(std::io::Error::other("x")),
                "InternalError",
                500,
            ),
            (StoreError::Internal("x".into()), "InternalError", 500),
        ];
        for (error, code, status) in table {
            let text = error.to_string();
            let api = ApiError::from(error);
            assert_eq!(api.code.as_str(), code, "{text}");
            assert_eq!(api.status().as_u16(), status, "{text}");
        }
    }

    #[test]
    fn auth_errors_map_to_s3_codes_and_statuses() {
        let table: Vec<(AuthError, &str, u16)> = vec![
            (
                AuthError::AccessDenied("Request has expired".into()),
                "AccessDenied",
                403,
            ),
            (
                AuthError::UnsignedHeaders(vec!["x-amz-copy-source".into()]),
                "AccessDenied",
                403,
            ),
            (AuthError::InvalidAccessKeyId, "InvalidAccessKeyId", 403),
            (
                AuthError::SignatureDoesNotMatch,
                "SignatureDoesNotMatch",
                403,
            ),
            (AuthError::RequestTimeTooSkewed, "RequestTimeTooSkewed", 403),
            (
                AuthError::AuthorizationHeaderMalformed("x".into()),
                "AuthorizationHeaderMalformed",
                400,
            ),
            (
                AuthError::AuthorizationQueryParametersError("x".into()),
                "AuthorizationQueryParametersError",
                400,
            ),
            (
                AuthError::ContentSha256Mismatch,
                "XAmzContentSHA256Mismatch",
                400,
            ),
            (
                AuthError::InvalidArgument("x".into()),
                "InvalidArgument",
                400,
            ),
            (AuthError::IncompleteBody, "IncompleteBody", 400),
            (AuthError::RequestTimeout, "RequestTimeout", 400),
            (
                AuthError::MalformedChunkedEncoding("x".into()),
                "InvalidRequest",
                400,
            ),
            (
                AuthError::MalformedTrailer("x".into()),
                "InvalidRequest",
                400,
            ),
            (AuthError::BadChecksum("crc32".into()), "BadDigest", 400),
            (
                AuthError::InvalidChecksumValue("x-amz-checksum-crc32".into()),
                "InvalidRequest",
                400,
            ),
            (AuthError::MissingContentLength, "MissingContentLength", 411),
            (AuthError::EntityTooLarge, "EntityTooLarge", 400),
            (
                AuthError::NotImplemented("sigv4a".into()),
                "NotImplemented",
                501,
            ),
        ];
        for (error, code, status) in table {
            let api = ApiError::from(error.clone());
            assert_eq!(api.code.as_str(), code, "{error:?}");
            assert_eq!(api.status().as_u16(), status, "{error:?}");
        }
    }

    #[test]
    fn lifecycle_errors_map_to_s3_codes_and_statuses() {
        use lifecycle::LifecycleError;
        let table = vec![
            (
                LifecycleError::MalformedXml("x".into()),
                "MalformedXML",
                400,
            ),
            (
                LifecycleError::MalformedJson("x".into()),
                "MalformedXML",
                400,
            ),
            (
                LifecycleError::InvalidArgument("x".into()),
                "InvalidArgument",
                400,
            ),
            (
                LifecycleError::InvalidRequest("x".into()),
                "InvalidRequest",
                400,
            ),
        ];
        for (error, code, status) in table {
            let api = ApiError::from(error.clone());
            assert_eq!(api.code.as_str(), code, "{error:?}");
            assert_eq!(api.status().as_u16(), status, "{error:?}");
        }
    }

    #[test]
    fn policy_errors_map_to_s3_codes_and_statuses() {
        use iam::policy::PolicyError;
        let api = ApiError::from(PolicyError::Malformed("x".into()));
        assert_eq!(
            (api.code.as_str(), api.status().as_u16()),
            ("MalformedPolicy", 400)
        );
        let api = ApiError::from(PolicyError::Unsupported("Condition".into()));
        assert_eq!(
            (api.code.as_str(), api.status().as_u16()),
            ("NotImplemented", 501)
        );
    }

    #[test]
    fn bad_checksum_message_names_the_algorithm_like_s3() {
        let api = ApiError::from(StoreError::BadChecksum {
            algorithm: ChecksumAlgorithm::Crc32c,
        });
        assert_eq!(
            api.message,
            "The CRC32C you specified did not match the calculated checksum."
        );
    }

    #[test]
    fn error_xml_has_code_message_extra_fields_resource_and_request_id() {
        let mut api = ApiError::no_such_key("photos", "a<b>&c");
        api.resource = Some("/photos/a<b>&c".into());
        let xml = api.to_xml("17A0B1C2D3E4F5A6", "host");
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
             <Message>The specified key does not exist.</Message><Key>a&lt;b&gt;&amp;c</Key>\
             <BucketName>photos</BucketName><Resource>/photos/a&lt;b&gt;&amp;c</Resource>\
             <RequestId>17A0B1C2D3E4F5A6</RequestId><HostId>host</HostId></Error>"
        );
    }

    #[test]
    fn head_error_response_has_status_but_no_body() {
        let api = ApiError::new(S3Code::NoSuchKey);
        let response = api.to_response("id", "host", false);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.headers().get(http::header::CONTENT_TYPE).is_none());
        let response = api.to_response("id", "host", true);
        assert_eq!(
            response.headers()[http::header::CONTENT_TYPE],
            "application/xml"
        );
    }
}
