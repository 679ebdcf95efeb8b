-- Core tables exactly as new-api's GORM AutoMigrate creates them in MySQL (reference
-- commit 4eec0ce, gorm v1.25.2, gorm.io/driver/mysql v1.4.3): the same columns, types,
-- defaults, NOT NULLs and index names (inline, as GORM writes them), so that a database
-- of either opens in the other. tests/fixtures/newapi/mysql.sql is the same schema
-- written as GORM emits it, and tests/integration/test_newapi_db.py compares the two.
-- Beyond GORM: utf8mb4 is named (GORM takes the server's default), and token keys and
-- redemption codes compare case-sensitively (utf8mb4_bin; they are secrets). MySQL
-- commits DDL implicitly, so every statement is idempotent: CREATE TABLE IF NOT EXISTS
-- with its indexes inline. A table that already exists is kept as it is; 004 adds what an older
-- one lacks.

CREATE TABLE IF NOT EXISTS `channels` (
  `id` bigint AUTO_INCREMENT,
  `type` bigint DEFAULT 0,
  `key` longtext NOT NULL,
  `open_ai_organization` longtext,
  `test_model` longtext,
  `status` bigint DEFAULT 1,
  `name` varchar(191),
  `weight` bigint unsigned DEFAULT 0,
  `created_time` bigint,
  `test_time` bigint,
  `response_time` bigint,
  `base_url` varchar(191) DEFAULT '',
  `other` longtext,
  `balance` double,
  `balance_updated_time` bigint,
  `models` longtext,
  `group` varchar(64) DEFAULT 'default',
  `used_quota` bigint DEFAULT 0,
  `model_mapping` text,
  `status_code_mapping` varchar(1024) DEFAULT '',
  `priority` bigint DEFAULT 0,
  `auto_ban` bigint DEFAULT 1,
  `other_info` longtext,
  `tag` varchar(191),
  `setting` text,
  `param_override` text,
  `header_override` text,
  `remark` varchar(255),
  `channel_info` json,
  `settings` longtext,
  PRIMARY KEY (`id`),
  INDEX `idx_channels_name` (`name`),
  INDEX `idx_channels_tag` (`tag`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `tokens` (
  `id` bigint AUTO_INCREMENT,
  `user_id` bigint,
  `key` varchar(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  `status` bigint DEFAULT 1,
  `name` varchar(191),
  `created_time` bigint,
  `accessed_time` bigint,
  `expired_time` bigint DEFAULT -1,
  `remain_quota` bigint DEFAULT 0,
  `unlimited_quota` boolean,
  `model_limits_enabled` boolean,
  `model_limits` text,
  `allow_ips` varchar(191) DEFAULT '',
  `used_quota` bigint DEFAULT 0,
  `group` varchar(191) DEFAULT '',
  `cross_group_retry` boolean,
  `auto_groups` text,
  `deleted_at` datetime(3) NULL,
  PRIMARY KEY (`id`),
  INDEX `idx_tokens_user_id` (`user_id`),
  UNIQUE INDEX `idx_tokens_key` (`key`),
  INDEX `idx_tokens_name` (`name`),
  INDEX `idx_tokens_deleted_at` (`deleted_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `users` (
  `id` bigint AUTO_INCREMENT,
  `username` varchar(191) UNIQUE,
  `password` longtext NOT NULL,
  `display_name` varchar(191),
  `role` bigint DEFAULT 1,
  `status` bigint DEFAULT 1,
  `email` varchar(191),
  `github_id` varchar(191),
  `discord_id` varchar(191),
  `oidc_id` varchar(191),
  `wechat_id` varchar(191),
  `telegram_id` varchar(191),
  `access_token` char(32),
  `quota` bigint DEFAULT 0,
  `used_quota` bigint DEFAULT 0,
  `request_count` bigint DEFAULT 0,
  `group` varchar(64) DEFAULT 'default',
  `aff_code` varchar(32),
  `aff_count` bigint DEFAULT 0,
  `aff_quota` bigint DEFAULT 0,
  `aff_history` bigint DEFAULT 0,
  `inviter_id` bigint,
  `deleted_at` datetime(3) NULL,
  `linux_do_id` varchar(191),
  `setting` text,
  `remark` varchar(255),
  `stripe_customer` varchar(64),
  `created_at` bigint,
  `last_login_at` bigint DEFAULT 0,
  `auth_version` bigint NOT NULL DEFAULT 1,
  PRIMARY KEY (`id`),
  INDEX `idx_users_username` (`username`),
  INDEX `idx_users_display_name` (`display_name`),
  INDEX `idx_users_email` (`email`),
  INDEX `idx_users_git_hub_id` (`github_id`),
  INDEX `idx_users_discord_id` (`discord_id`),
  INDEX `idx_users_oidc_id` (`oidc_id`),
  INDEX `idx_users_we_chat_id` (`wechat_id`),
  INDEX `idx_users_telegram_id` (`telegram_id`),
  UNIQUE INDEX `idx_users_access_token` (`access_token`),
  UNIQUE INDEX `idx_users_aff_code` (`aff_code`),
  INDEX `idx_users_inviter_id` (`inviter_id`),
  INDEX `idx_users_deleted_at` (`deleted_at`),
  INDEX `idx_users_linux_do_id` (`linux_do_id`),
  INDEX `idx_users_stripe_customer` (`stripe_customer`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `options` (
  `key` varchar(191),
  `value` longtext,
  PRIMARY KEY (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `redemptions` (
  `id` bigint AUTO_INCREMENT,
  `user_id` bigint,
  `key` char(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  `status` bigint DEFAULT 1,
  `name` varchar(191),
  `quota` bigint DEFAULT 100,
  `created_time` bigint,
  `redeemed_time` bigint,
  `used_user_id` bigint,
  `deleted_at` datetime(3) NULL,
  `expired_time` bigint,
  PRIMARY KEY (`id`),
  UNIQUE INDEX `idx_redemptions_key` (`key`),
  INDEX `idx_redemptions_name` (`name`),
  INDEX `idx_redemptions_deleted_at` (`deleted_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `abilities` (
  `group` varchar(64),
  `model` varchar(255),
  `channel_id` bigint,
  `enabled` boolean,
  `priority` bigint DEFAULT 0,
  `weight` bigint unsigned DEFAULT 0,
  `tag` varchar(191),
  PRIMARY KEY (`group`,`model`,`channel_id`),
  INDEX `idx_abilities_channel_id` (`channel_id`),
  INDEX `idx_abilities_priority` (`priority`),
  INDEX `idx_abilities_weight` (`weight`),
  INDEX `idx_abilities_tag` (`tag`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `logs` (
  `id` bigint AUTO_INCREMENT,
  `user_id` bigint,
  `created_at` bigint,
  `type` bigint,
  `content` longtext,
  `username` varchar(191) DEFAULT '',
  `token_name` varchar(191) DEFAULT '',
  `model_name` varchar(191) DEFAULT '',
  `quota` bigint DEFAULT 0,
  `prompt_tokens` bigint DEFAULT 0,
  `completion_tokens` bigint DEFAULT 0,
  `use_time` bigint DEFAULT 0,
  `is_stream` boolean,
  `is_retry_attempt` boolean,
  `channel_id` bigint,
  `channel_name` longtext,
  `token_id` bigint DEFAULT 0,
  `group` varchar(191),
  `ip` varchar(191) DEFAULT '',
  `request_id` varchar(64) DEFAULT '',
  `upstream_request_id` varchar(128) DEFAULT '',
  `other` longtext,
  PRIMARY KEY (`id`),
  INDEX `idx_created_at_id` (`created_at`,`id`),
  INDEX `idx_user_id_id` (`user_id`,`id`),
  INDEX `idx_logs_user_id` (`user_id`),
  INDEX `idx_created_at_type` (`created_at`,`type`),
  INDEX `idx_logs_username` (`username`),
  INDEX `index_username_model_name` (`model_name`,`username`),
  INDEX `idx_logs_token_name` (`token_name`),
  INDEX `idx_logs_model_name` (`model_name`),
  INDEX `idx_logs_channel_id` (`channel_id`),
  INDEX `idx_logs_token_id` (`token_id`),
  INDEX `idx_logs_group` (`group`),
  INDEX `idx_logs_ip` (`ip`),
  INDEX `idx_logs_request_id` (`request_id`),
  INDEX `idx_logs_upstream_request_id` (`upstream_request_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `top_ups` (
  `id` bigint AUTO_INCREMENT,
  `user_id` bigint,
  `amount` bigint,
  `money` double,
  `trade_no` varchar(255) UNIQUE,
  `payment_method` varchar(50),
  `payment_provider` varchar(50) DEFAULT '',
  `create_time` bigint,
  `complete_time` bigint,
  `status` longtext,
  PRIMARY KEY (`id`),
  INDEX `idx_top_ups_user_id` (`user_id`),
  INDEX `idx_top_ups_trade_no` (`trade_no`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `quota_data` (
  `id` bigint AUTO_INCREMENT,
  `user_id` bigint,
  `username` varchar(64) DEFAULT '',
  `model_name` varchar(64) DEFAULT '',
  `created_at` bigint,
  `use_group` varchar(64) DEFAULT '',
  `token_id` bigint DEFAULT 0,
  `channel_id` bigint DEFAULT 0,
  `node_name` varchar(64) DEFAULT '',
  `token_used` bigint DEFAULT 0,
  `count` bigint DEFAULT 0,
  `quota` bigint DEFAULT 0,
  PRIMARY KEY (`id`),
  INDEX `idx_quota_data_user_id` (`user_id`),
  INDEX `idx_qdt_model_user_name` (`model_name`,`username`),
  INDEX `idx_qdt_created_at` (`created_at`),
  INDEX `idx_quota_data_use_group` (`use_group`),
  INDEX `idx_quota_data_token_id` (`token_id`),
  INDEX `idx_quota_data_channel_id` (`channel_id`),
  INDEX `idx_quota_data_node_name` (`node_name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `models` (
  `id` bigint AUTO_INCREMENT,
  `model_name` varchar(128) NOT NULL,
  `description` text,
  `icon` varchar(128),
  `tags` varchar(255),
  `vendor_id` bigint,
  `endpoints` text,
  `status` bigint DEFAULT 1,
  `sync_official` bigint DEFAULT 1,
  `created_time` bigint,
  `updated_time` bigint,
  `deleted_at` datetime(3) NULL,
  `name_rule` bigint DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE INDEX `uk_model_name_delete_at` (`model_name`,`deleted_at`),
  INDEX `idx_models_vendor_id` (`vendor_id`),
  INDEX `idx_models_deleted_at` (`deleted_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `vendors` (
  `id` bigint AUTO_INCREMENT,
  `name` varchar(128) NOT NULL,
  `description` text,
  `icon` varchar(128),
  `status` bigint DEFAULT 1,
  `created_time` bigint,
  `updated_time` bigint,
  `deleted_at` datetime(3) NULL,
  PRIMARY KEY (`id`),
  UNIQUE INDEX `uk_vendor_name_delete_at` (`name`,`deleted_at`),
  INDEX `idx_vendors_deleted_at` (`deleted_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `setups` (
  `id` bigint unsigned AUTO_INCREMENT,
  `version` varchar(50) NOT NULL,
  `initialized_at` bigint NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `checkins` (
  `id` bigint AUTO_INCREMENT,
  `user_id` bigint NOT NULL,
  `checkin_date` varchar(10) NOT NULL,
  `quota_awarded` bigint NOT NULL,
  `created_at` bigint,
  PRIMARY KEY (`id`),
  UNIQUE INDEX `idx_user_checkin_date` (`user_id`,`checkin_date`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Token Factory's own: the last Redis stream entry the ledger persister applied per
-- stream, advanced in the same transaction as the entries it applies.
CREATE TABLE IF NOT EXISTS `ledger_cursors` (
  `stream` VARCHAR(191) NOT NULL,
  `last_id` VARCHAR(64) NOT NULL,
  `updated_at` BIGINT DEFAULT NULL,
  PRIMARY KEY (`stream`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
