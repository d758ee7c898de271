using Microsoft.AspNetCore.Diagnostics;

namespace OrleansShards.Silo.Http;

/// <summary>The exception handler of the pipeline: what <see cref="ApiProblems"/> knows becomes its ProblemDetails.</summary>
internal sealed class ApiExceptionHandler : IExceptionHandler
{
    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Response.HasStarted || ApiProblems.Map(exception, httpContext) is not { } problem)
        {
            return false;
        }

        await problem.ExecuteAsync(httpContext);
        return true;
    }
}
