//! minnow's S3 HTTP API: routing, SigV4, aws-chunked bodies, XML, handlers.
