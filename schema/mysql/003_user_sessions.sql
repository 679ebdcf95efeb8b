-- Console sign-in sessions (reference Aug tree, model user_sessions): one row
-- per refresh-token family; only HMACs of refresh tokens are stored.
CREATE TABLE IF NOT EXISTS `user_sessions` (
  `sid` VARCHAR(64) NOT NULL,
  `user_id` BIGINT NOT NULL,
  `version` BIGINT NOT NULL DEFAULT 1,
  `user_auth_version` BIGINT NOT NULL DEFAULT 1,
  `status` BIGINT NOT NULL DEFAULT 1,
  `refresh_hash` VARCHAR(128) NOT NULL,
  `previous_refresh_hash` VARCHAR(128) DEFAULT NULL,
  `login_method` VARCHAR(32) DEFAULT NULL,
  `ip` VARCHAR(64) DEFAULT NULL,
  `user_agent` VARCHAR(512) DEFAULT NULL,
  `created_at` BIGINT NOT NULL,
  `last_active_at` BIGINT NOT NULL,
  `expires_at` BIGINT NOT NULL,
  `revoked_at` BIGINT DEFAULT NULL,
  `revoked_reason` VARCHAR(64) DEFAULT NULL,
  PRIMARY KEY (`sid`),
  KEY `idx_user_sessions_user_id` (`user_id`),
  KEY `idx_user_sessions_expires_at` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
