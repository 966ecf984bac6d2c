"""Labels for customer-facing documents: Chinese by default, English on request."""

LANGUAGES = ('zh', 'en')

LABELS = {
    # ledger columns
    'key': ('配置项标识', 'Key'),
    'host': ('主机', 'Host'),
    'seen_at': ('采集时间', 'Observed at'),
    'run_id': ('运行编号', 'Run'),
    'hostname': ('主机名', 'Hostname'),
    'fqdn': ('完整域名', 'FQDN'),
    'addresses': ('IP地址', 'IP addresses'),
    'os': ('操作系统', 'Operating system'),
    'kernel': ('内核版本', 'Kernel'),
    'arch': ('架构', 'Architecture'),
    'cpu_count': ('CPU核数', 'CPUs'),
    'cpu_model': ('CPU型号', 'CPU model'),
    'memory_gib': ('内存(GiB)', 'Memory (GiB)'),
    'swap_gib': ('交换分区(GiB)', 'Swap (GiB)'),
    'disks': ('磁盘', 'Disks'),
    'filesystems': ('文件系统', 'File systems'),
    'volume_groups': ('卷组', 'Volume groups'),
    'time_sync': ('时间同步', 'Time sync'),
    'boot_time': ('启动时间', 'Boot time'),
    'listening': ('监听端口', 'Listening ports'),
    'firewall_backends': ('防火墙', 'Firewall'),
    'firewall_rules': ('防火墙规则数', 'Firewall rules'),
    'attrs': ('属性', 'Attributes'),
    'set': ('备份集', 'Backup set'),
    'backup_path': ('备份路径', 'Backup path'),
    'max_age_hours': ('恢复点目标(小时)', 'RPO (hours)'),
    'newest': ('最新备份', 'Newest backup'),
    'backup_time': ('备份时间', 'Backup time'),
    'age_hours': ('距今(小时)', 'Age (hours)'),
    'size_bytes': ('大小(字节)', 'Size (bytes)'),
    'count': ('备份份数', 'Backups kept'),
    'verified': ('完整性校验', 'Integrity verified'),
    'restore_ok': ('恢复测试', 'Restore test'),
    'restore_seconds': ('恢复耗时(秒)', 'Restore time (s)'),
    'db_engine': ('数据库类型及版本', 'Engine and edition'),
    'db_version': ('数据库版本', 'Version'),
    'db_instance': ('实例名', 'Instance'),
    'db_server': ('服务器名', 'Server'),
    'datafiles_gib': ('数据文件(GiB)', 'Data files (GiB)'),
    'temp_gib': ('临时表空间(GiB)', 'Temporary space (GiB)'),
    'archive_mode': ('归档/日志模式', 'Archive / log mode'),
    'lowest_free': ('最低空闲表空间', 'Least free space'),
    'log_errors': ('告警日志错误数', 'Alert/error log errors'),
    'last_backup': ('最近备份', 'Last backup'),
    'sessions': ('会话数', 'Sessions'),
    'buffer_hit_pct': ('缓冲命中率(%)', 'Buffer hit ratio (%)'),
    # change records
    'id': ('编号', 'ID'),
    'at': ('时间', 'Time'),
    'task': ('任务', 'Task'),
    'module': ('模块', 'Module'),
    'object': ('变更对象', 'Object'),
    'action': ('操作', 'Action'),
    'before': ('变更前', 'Before'),
    'after': ('变更后', 'After'),
    'diff': ('差异', 'Diff'),
    'rollback': ('回退句柄', 'Rollback handle'),
    'operator': ('操作人', 'Operator'),
    'ticket': ('工单号', 'Ticket'),
    # drills
    'drill': ('演练名称', 'Drill'),
    'drill_kind': ('演练类型', 'Kind'),
    'outcome': ('结果', 'Outcome'),
    'started': ('开始时间', 'Started'),
    'finished': ('结束时间', 'Finished'),
    'detection_seconds': ('发现用时(秒)', 'Detection (s)'),
    'recovery_seconds': ('恢复用时(秒)', 'Recovery (s)'),
    'total_seconds': ('总用时(秒)', 'Total (s)'),
    # drift
    'change': ('变化', 'Change'),
    'path': ('属性路径', 'Attribute'),
    'added': ('新增', 'added'),
    'removed': ('移除', 'removed'),
    'changed': ('变更', 'changed'),
    # sheet titles
    'sheet_os': ('操作系统台账', 'OS ledger'),
    'sheet_db': ('数据库台账', 'Database ledger'),
    'sheet_network': ('网络策略台账', 'Network policy ledger'),
    'sheet_cloud': ('云资源台账', 'Cloud resource ledger'),
    'sheet_backup': ('备份台账', 'Backup ledger'),
    'sheet_changes': ('变更记录单', 'Change records'),
    'sheet_drills': ('应急演练记录', 'Emergency drill records'),
}


def label(name, lang='zh'):
    if lang not in LANGUAGES:
        raise ValueError('language must be one of %s, got %r' % (', '.join(LANGUAGES), lang))
    pair = LABELS.get(name)
    if pair is None:
        return name
    return pair[0] if lang == 'zh' else pair[1]
