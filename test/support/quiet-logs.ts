// Keep test output readable: handlers log at INFO in Lambda, WARN and above here.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
