//! What a push says, for each provider. Handles and ids only: never the
//! text of a caption or a comment, since lock screens are public.

use serde_json::{Value, json};
use uuid::Uuid;

/// The facts a push is built from, read at send time.
#[derive(Debug, Clone)]
pub struct Push {
    pub kind: String,
    pub notification_id: Uuid,
    pub post_id: Option<Uuid>,
    pub actor_handle: String,
    /// Others whose notification this one coalesces (likes of one post).
    pub others: i64,
    pub badge: i64,
    pub collapse_key: Option<String>,
}

impl Push {
    /// The lock-screen line.
    pub fn body(&self) -> String {
        let who = match self.others {
            0 => format!("@{}", self.actor_handle),
            1 => format!("@{} and 1 other", self.actor_handle),
            n => format!("@{} and {n} others", self.actor_handle),
        };
        let what = match self.kind.as_str() {
            "follow" => "started following you",
            "like" => "liked your post",
            "comment" => "commented on your post",
            "mention" => "mentioned you",
            "follow_request" => "asked to follow you",
            "follow_accepted" => "accepted your follow request",
            "story_reaction" => "reacted to your story",
            _ => "sent you a notification",
        };
        format!("{who} {what}")
    }

    /// The key an app localises the line with, its arguments after it.
    fn loc_key(&self) -> String {
        let plural = if self.others > 0 { "_others" } else { "" };
        format!("ciel_push_{}{plural}", self.kind)
    }

    fn loc_args(&self) -> Vec<String> {
        let mut args = vec![self.actor_handle.clone()];
        if self.others > 0 {
            args.push(self.others.to_string());
        }
        args
    }

    fn data(&self) -> Value {
        json!({
            "type": self.kind,
            "notification_id": self.notification_id,
            "post_id": self.post_id,
            "actor": self.actor_handle,
            "others": self.others,
        })
    }

    /// The APNs JSON payload.
    pub fn apns(&self) -> Value {
        json!({
            "aps": {
                "alert": {
                    "body": self.body(),
                    "loc-key": self.loc_key(),
                    "loc-args": self.loc_args(),
                },
                "badge": self.badge,
                "sound": "default",
                "thread-id": self.kind,
            },
            "ciel": self.data(),
        })
    }

    /// The FCM v1 `message`, without its token.
    pub fn fcm(&self, token: &str) -> Value {
        let data = self.data();
        // FCM data values are strings.
        let data: serde_json::Map<String, Value> = data
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                (k.clone(), Value::String(text))
            })
            .collect();
        let mut android = json!({
            "priority": "high",
            "ttl": "86400s",
            "notification": {
                "body": self.body(),
                "body_loc_key": self.loc_key(),
                "body_loc_args": self.loc_args(),
                "notification_count": self.badge,
            },
        });
        if let Some(key) = &self.collapse_key {
            android["collapse_key"] = json!(key);
            android["notification"]["tag"] = json!(key);
        }
        json!({
            "message": {
                "token": token,
                "notification": { "body": self.body() },
                "data": data,
                "android": android,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesced_likes_read_as_one_line() {
        let mut push = Push {
            kind: "like".into(),
            notification_id: Uuid::nil(),
            post_id: Some(Uuid::nil()),
            actor_handle: "alice".into(),
            others: 0,
            badge: 3,
            collapse_key: Some("like:x".into()),
        };
        assert_eq!(push.body(), "@alice liked your post");
        push.others = 4;
        assert_eq!(push.body(), "@alice and 4 others liked your post");
        assert_eq!(push.apns()["aps"]["badge"], 3);
        let fcm = push.fcm("tok");
        assert_eq!(fcm["message"]["android"]["collapse_key"], "like:x");
        assert_eq!(fcm["message"]["data"]["others"], "4");
        assert_eq!(fcm["message"]["token"], "tok");
    }
}
